# Loopback integration tests of the relay network.
# Our DHT node (wgr-dht) against libtorrent's on loopback: BEP 44 put/get and BEP 5
# announce/get_peers both ways (skipped with 77 without the libtorrent Python module).
if(TARGET wgr-dht)
  add_test(NAME dht_libtorrent
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/dht_libtorrent.py $<TARGET_FILE:wgr-dht>)
  set_tests_properties(dht_libtorrent PROPERTIES LABELS integration TIMEOUT 90
                       SKIP_RETURN_CODE 77)
endif()
