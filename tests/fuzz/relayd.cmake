# Fuzz targets of wgrelayd's own parsers: the WireGuard datagram check, TURN-REST tokens, and
# the config and AllowedKeys readers.
add_fuzz_target(fuzz_wgcheck SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wgcheck.c
                LINK_LIBRARIES wgrelayd_core)
add_fuzz_target(fuzz_token SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_token.c
                LINK_LIBRARIES wgrelayd_core)
add_fuzz_target(fuzz_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_config.c
                LINK_LIBRARIES wgrelayd_core)
