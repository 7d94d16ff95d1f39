# Loopback integration tests of wgrelayd: the real binary, driven by the test client.
add_library(wgr_tclient STATIC ${CMAKE_CURRENT_LIST_DIR}/tclient.c)
target_include_directories(wgr_tclient PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(wgr_tclient PUBLIC wgrcommon)
add_cmocka_test(test_relayd SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_relayd.c
                LINK_LIBRARIES wgr_tclient LABELS integration TIMEOUT 180)
add_dependencies(test_relayd wgrelayd)
# The narrated client of the local demo (scripts/demo-local.sh).
add_executable(wgrelay-demo-local ${CMAKE_CURRENT_LIST_DIR}/demo_local.c)
target_link_libraries(wgrelay-demo-local PRIVATE wgr_tclient)
