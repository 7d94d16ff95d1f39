# Loopback integration tests of wgrelayd's libp2p Circuit Relay v2 server: the real binary,
# driven by a minimal libp2p node built on libp2p/ (wgr_harness comes from relayd.cmake).
# relayd glue
add_cmocka_test(test_libp2p SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_libp2p.c
                LINK_LIBRARIES wgr_harness wgrlibp2p LABELS integration TIMEOUT 180)
add_dependencies(test_libp2p wgrelayd)
