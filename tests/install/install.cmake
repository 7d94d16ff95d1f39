# Packaging checks: a DESTDIR install, the .deb, the systemd units, the man pages, the bash
# completion and the Grafana dashboard. The .deb test runs the whole cpack install (and
# lintian), so it is labelled integration.
find_program(WGR_BASH bash)
if(WGR_BASH)
  set(WGR_INSTALL_ENV "WGR_SOURCE_DIR=${CMAKE_SOURCE_DIR}" "WGR_BINARY_DIR=${CMAKE_BINARY_DIR}"
                      "WGR_WGRELAYD=$<TARGET_FILE:wgrelayd>" "WGR_WGRELAY=$<TARGET_FILE:wgrelay>")
  foreach(check destdir units man completion dashboard)
    add_test(NAME install_${check}
             COMMAND ${WGR_BASH} ${CMAKE_CURRENT_LIST_DIR}/check.sh ${check})
    set_tests_properties(install_${check} PROPERTIES LABELS unit TIMEOUT 120
                         ENVIRONMENT "${WGR_INSTALL_ENV}" SKIP_RETURN_CODE 77)
  endforeach()
  # Runs wgrelayd as nobody with no capabilities on loopback, as wgrelayd.service does.
  add_test(NAME install_unprivileged COMMAND ${WGR_BASH} ${CMAKE_CURRENT_LIST_DIR}/check.sh unprivileged)
  set_tests_properties(install_unprivileged PROPERTIES LABELS integration TIMEOUT 60
                       ENVIRONMENT "${WGR_INSTALL_ENV}" SKIP_RETURN_CODE 77)
  add_test(NAME install_deb COMMAND ${WGR_BASH} ${CMAKE_CURRENT_LIST_DIR}/check.sh deb)
  set_tests_properties(install_deb PROPERTIES LABELS integration TIMEOUT 300
                       ENVIRONMENT "${WGR_INSTALL_ENV}" SKIP_RETURN_CODE 77)
endif()
