# relay-client integration: wgrelay against a real wgrelayd and real wireguard-go interfaces in
# a network namespace the test creates (root; skipped with 77 otherwise).
if(TARGET wgrelay AND TARGET wgrelayd)
  add_test(NAME client_relay COMMAND ${CMAKE_CURRENT_LIST_DIR}/client_relay.sh)
  set_tests_properties(client_relay PROPERTIES LABELS integration TIMEOUT 120
    SKIP_RETURN_CODE 77
    ENVIRONMENT "WGR_SOURCE_DIR=${CMAKE_SOURCE_DIR};WGR_BINARY_DIR=${CMAKE_BINARY_DIR}")
endif()
# Discovery: wgrelay asks a real wgrelayd (two, in the relay network, on loopback) which relays
# it knows, stores and uses them (no root needed).
if(TARGET wgrelay AND TARGET wgrelayd)
  add_test(NAME client_discover COMMAND ${CMAKE_CURRENT_LIST_DIR}/client_discover.sh)
  set_tests_properties(client_discover PROPERTIES LABELS integration TIMEOUT 120
    SKIP_RETURN_CODE 77
    ENVIRONMENT "WGR_SOURCE_DIR=${CMAKE_SOURCE_DIR};WGR_BINARY_DIR=${CMAKE_BINARY_DIR}")
endif()
# The DHT: a helper that knows no relay finds three wgrelayd (Dht = on) there (no root needed).
if(TARGET wgrelay AND TARGET wgrelayd)
  add_test(NAME client_dht COMMAND ${CMAKE_CURRENT_LIST_DIR}/client_dht.sh)
  set_tests_properties(client_dht PROPERTIES LABELS integration TIMEOUT 60
    SKIP_RETURN_CODE 77
    ENVIRONMENT "WGR_SOURCE_DIR=${CMAKE_SOURCE_DIR};WGR_BINARY_DIR=${CMAKE_BINARY_DIR}")
endif()
