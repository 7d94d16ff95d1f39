# Fuzz targets of the stream transports' handshake parsers: HTTP heads and the SOCKS5 client.
add_fuzz_target(fuzz_http SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_http.c LINK_LIBRARIES wgrcommon)
add_fuzz_target(fuzz_socks5 SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_socks5.c
                LINK_LIBRARIES wgrcommon)
