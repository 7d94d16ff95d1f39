# Fuzz targets of the wire protocol decoders.
add_fuzz_target(fuzz_frame SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_frame.c LINK_LIBRARIES wgrcommon)
add_fuzz_target(fuzz_handshake SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_handshake.c
                LINK_LIBRARIES wgrcommon)
# Writes the seed corpora above: mkseeds tests/fuzz/corpus
add_executable(fuzz_mkseeds ${CMAKE_CURRENT_LIST_DIR}/mkseeds.c)
target_link_libraries(fuzz_mkseeds PRIVATE wgrcommon)
# onion
add_fuzz_target(fuzz_onion SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_onion.c LINK_LIBRARIES wgrcommon)
# cell
add_fuzz_target(fuzz_cell SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_cell.c LINK_LIBRARIES wgrcommon)
# circhs
add_fuzz_target(fuzz_circhs SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_circhs.c LINK_LIBRARIES wgrcommon)
# circmsg
add_fuzz_target(fuzz_circmsg SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_circmsg.c LINK_LIBRARIES wgrcommon)
# circsw
add_fuzz_target(fuzz_circsw SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_circsw.c LINK_LIBRARIES wgrcommon)
# circbuild
add_fuzz_target(fuzz_circbuild SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_circbuild.c LINK_LIBRARIES wgrcommon)
