# Unit tests of wgrelayd's modules (linked against wgrelayd_core).
foreach(t wgcheck policy admit config session)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
    add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                    LINK_LIBRARIES wgrelayd_core)
  endif()
endforeach()
# The stream listeners of the real wgrelayd on loopback (the client side is transport/tconn.c,
# as the helper's; the relay comes from tests/integration's harness). [Transport] parsing is
# in test_config.
if(TARGET wgrtransport)
  add_cmocka_test(test_stream_relay
                  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_stream_relay.c
                  LINK_LIBRARIES wgr_harness wgrtransport LABELS integration TIMEOUT 180)
  add_dependencies(test_stream_relay wgrelayd)
endif()
# Relay links over streams: two and more real relays on loopback, one with its UDP endpoint
# unanswered, one through an in-test SOCKS5 proxy (PROTOCOL.md §10.2).
if(TARGET wgrtransport AND TARGET wgr_netrelay)
  find_package(Threads REQUIRED)
  add_cmocka_test(test_stream_links
                  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_stream_links.c
                  LINK_LIBRARIES wgr_netrelay Threads::Threads LABELS integration TIMEOUT 180)
  add_dependencies(test_stream_links wgrelayd)
endif()
# discover_select: DISCOVER's order, filters and cursor on a store filled by hand.
add_cmocka_test(test_discover_select SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_discover_select.c
                LINK_LIBRARIES wgrelayd_core)
# fastpath
# The XDP fast path's policy in wgrelayd (fastpath.c) over an in-memory fake of xdp.h: the
# test defines every xdp.h function, so xdp.c is never taken from the library.
add_cmocka_test(test_fastpath SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_fastpath.c
                ${CMAKE_CURRENT_LIST_DIR}/relay_fixture.c LINK_LIBRARIES wgrelayd_core)
# relay_fixture
# test_session (added in the list above) builds its relay with the shared fixture too.
if(TARGET test_session)
  target_sources(test_session PRIVATE ${CMAKE_CURRENT_LIST_DIR}/relay_fixture.c)
endif()
