# Unit tests of the stream transports: TLS and WebSocket layers over memory, connections over
# loopback sockets (proxies included).
find_package(Threads REQUIRED)
if(TARGET wgrtransport)
  foreach(t tls ws)
    add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                    LINK_LIBRARIES wgrtransport)
  endforeach()
  add_cmocka_test(test_tconn SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tconn.c
                  LINK_LIBRARIES wgrtransport Threads::Threads)
endif()
