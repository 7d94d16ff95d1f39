# Unit tests of relay-client (the wgrelay CLI and helper): real SQLite, real .mmdb files
# written by tests/data/mkmmdb.pl, the real wgrelay binary for the CLI, and real loopback
# sockets for sealed mode (a fake relay speaking the real protocol).
if(TARGET wgrelay_core)
  foreach(t cache detect select geoip cli sealed untrusted selfaddr)
    add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                    LINK_LIBRARIES wgrelay_core)
  endforeach()
  # test_geoip exits 77 when perl's MaxMind::DB::Writer is missing.
  set_tests_properties(test_geoip PROPERTIES SKIP_RETURN_CODE 77)
  add_dependencies(test_cli wgrelay)
  set_property(TEST test_cli APPEND PROPERTY ENVIRONMENT
               "WGRELAY_BIN=$<TARGET_FILE:wgrelay>")
  # test_untrusted runs `wgrelay list-relays` on a file with 700,000 relays.
  add_dependencies(test_untrusted wgrelay)
  set_property(TEST test_untrusted APPEND PROPERTY ENVIRONMENT
               "WGRELAY_BIN=$<TARGET_FILE:wgrelay>")
endif()
