# Fuzz targets of wg-integration's reply parsers (netlink and UAPI).
add_fuzz_target(fuzz_wg_netlink SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wg_netlink.c
                LINK_LIBRARIES wgi)
add_fuzz_target(fuzz_wg_uapi SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_wg_uapi.c LINK_LIBRARIES wgi)
