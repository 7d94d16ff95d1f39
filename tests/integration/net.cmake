# Loopback integration tests of wgrelayd's relay network: several relays started by PID.
# (wgr_harness comes from relayd.cmake, included after this file: link names resolve late.)
# Their relays, each with its own config file (netrelay.h).
add_library(wgr_netrelay STATIC ${CMAKE_CURRENT_LIST_DIR}/netrelay.c)
target_link_libraries(wgr_netrelay PUBLIC wgr_harness)
add_cmocka_test(test_network SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_network.c
                LINK_LIBRARIES wgr_netrelay LABELS integration TIMEOUT 180)
add_dependencies(test_network wgrelayd)
# Our DHT node (wgr-dht) against libtorrent's on loopback: BEP 44 put/get and BEP 5
# announce/get_peers both ways (skipped with 77 without the libtorrent Python module).
if(TARGET wgr-dht)
  add_test(NAME dht_libtorrent
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/dht_libtorrent.py $<TARGET_FILE:wgr-dht>)
  set_tests_properties(dht_libtorrent PROPERTIES LABELS integration TIMEOUT 90
                       SKIP_RETURN_CODE 77)
endif()
# wgrelayd's DHT use (relayd/netdht.c): five relays without Peer lines meet in a private DHT on
# loopback; libtorrent gets a relay's descriptor item from them (netdht_get.py; that part is
# skipped without the libtorrent Python module).
add_cmocka_test(test_netdht SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_netdht.c
                LINK_LIBRARIES wgr_netrelay LABELS integration TIMEOUT 150)
add_dependencies(test_netdht wgrelayd)
# wgrelayd's circuits (relayd/circuits.c, PROTOCOL.md §13): three relays in a full mesh with
# Circuits = on and test clients building circuits through them with common/circbuild.c.
add_cmocka_test(test_circuits SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_circuits.c
                LINK_LIBRARIES wgr_netrelay LABELS integration TIMEOUT 120)
add_dependencies(test_circuits wgrelayd)
