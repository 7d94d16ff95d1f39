# Fuzz targets of stream carriage: the record reader and transport/proxy URLs.
add_fuzz_target(fuzz_stream SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_stream.c
                LINK_LIBRARIES wgrcommon)
add_fuzz_target(fuzz_turl SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_turl.c LINK_LIBRARIES wgrcommon)
