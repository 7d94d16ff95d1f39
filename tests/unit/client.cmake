# Unit tests of relay-client (the wgrelay CLI and helper): real SQLite, real .mmdb files
# written by tests/data/mkmmdb.pl, the real wgrelay binary for the CLI, and real loopback
# sockets for sealed mode (a fake relay speaking the real protocol).
if(TARGET wgrelay_core)
  foreach(t cache detect select geoip cli sealed untrusted selfaddr token path registry lockfile
          portset discover steer_mode)
    add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                    LINK_LIBRARIES wgrelay_core)
  endforeach()
  # Two helpers with different relay tables meeting on a fake clock (path.c's widening).
  add_cmocka_test(test_path_meet SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_path_meet.c
                  LINK_LIBRARIES wgrelay_core)
  # Which relays a helper links to: the peers' shared rankings, not the cache's order.
  add_cmocka_test(test_linkset SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_linkset.c
                  LINK_LIBRARIES wgrelay_core)
  # test_geoip exits 77 when perl's MaxMind::DB::Writer is missing.
  set_tests_properties(test_geoip PROPERTIES SKIP_RETURN_CODE 77)
  add_dependencies(test_cli wgrelay)
  set_property(TEST test_cli APPEND PROPERTY ENVIRONMENT
               "WGRELAY_BIN=$<TARGET_FILE:wgrelay>")
  # test_untrusted runs `wgrelay list-relays` on a file with 700,000 relays.
  add_dependencies(test_untrusted wgrelay)
  set_property(TEST test_untrusted APPEND PROPERTY ENVIRONMENT
               "WGRELAY_BIN=$<TARGET_FILE:wgrelay>")
  # status and doctor: the merge and the checks as pure functions (test_status), and the real
  # binary on a wireguard-go interface in a network namespace of its own, also on a terminal
  # (test_status_live: root, wireguard-go and wg, else skipped).
  add_cmocka_test(test_status SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_status.c
                  LINK_LIBRARIES wgrelay_core)
  add_cmocka_test(test_status_live SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_status_live.c
                  LINK_LIBRARIES wgrelay_core)
  add_dependencies(test_status_live wgrelay)
  set_tests_properties(test_status_live PROPERTIES SKIP_RETURN_CODE 77)
  set_property(TEST test_status_live APPEND PROPERTY ENVIRONMENT
               "WGRELAY_BIN=$<TARGET_FILE:wgrelay>")
endif()
# The helper's DHT client: its pure rules, and a run against two DHT nodes on loopback.
if(TARGET wgrelay_core AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_dhtfind.c)
  add_cmocka_test(test_dhtfind SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dhtfind.c
                  LINK_LIBRARIES wgrelay_core)
endif()
# Relay links over streams when UDP is blocked: the carrier choice on a fake clock (fallback),
# a link's handshake over a real TCP connection on loopback to a relay in the test (carrier),
# stream URLs from lines and descriptors and the schema 7 migration of a real file (urls).
if(TARGET wgrelay_core AND TARGET wgrtransport)
  foreach(t fallback carrier urls)
    if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
      add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                      LINK_LIBRARIES wgrelay_core)
    endif()
  endforeach()
endif()
# sealed
# test_sealed wraps sendmmsg to make a batch fail part way (a refused datagram, a full buffer).
if(TARGET test_sealed)
  target_link_options(test_sealed PRIVATE "-Wl,--wrap=sendmmsg")
endif()
# pathsel: the hops before a circuit's rendezvous and the guards, on a seeded generator.
if(TARGET wgrelay_core)
  add_cmocka_test(test_pathsel SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pathsel.c
                  LINK_LIBRARIES wgrelay_core)
endif()
# circpeer: one WireGuard peer over circuits, two helpers on a fake network of real circuit
# switches and a fake clock (meeting, rotation, a relay killed, DESTROYs, backoff).
if(TARGET wgrelay_core)
  add_cmocka_test(test_circpeer SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_circpeer.c
                  LINK_LIBRARIES wgrelay_core)
endif()
