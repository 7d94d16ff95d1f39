# Unit tests of the HTTP heads (WebSocket upgrade, CONNECT) and the SOCKS5 client.
foreach(t http socks5)
  add_cmocka_test(test_${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c
                  LINK_LIBRARIES wgrcommon)
endforeach()
