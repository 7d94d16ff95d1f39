# Kernel WireGuard test in a qemu VM (tests/kvm/run.sh): libwgi's netlink backend against the
# real kernel module. Skipped (77) only where qemu cannot run or the kernel cannot be fetched.
if(TARGET wgi_live)
  add_test(NAME wgi_kernel_vm COMMAND ${CMAKE_CURRENT_LIST_DIR}/run.sh $<TARGET_FILE:wgi_live>)
  set_tests_properties(wgi_kernel_vm PROPERTIES LABELS kvm TIMEOUT 400 SKIP_RETURN_CODE 77
    ENVIRONMENT "WGR_SOURCE_DIR=${CMAKE_SOURCE_DIR};WGR_BINARY_DIR=${CMAKE_BINARY_DIR}")
endif()
# End-to-end scenarios on kernel WireGuard (tests/kvm/run-e2e.sh): tests/e2e scripts run inside
# one VM with WORLD_WG=kernel. `ctest -R e2e_kernel_vm` runs it alone.
if(TARGET wgrelayd AND TARGET wgrelay)
  add_test(NAME e2e_kernel_vm COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run-e2e.sh)
  set_tests_properties(e2e_kernel_vm PROPERTIES LABELS kvm TIMEOUT 600 SKIP_RETURN_CODE 77
    RUN_SERIAL TRUE
    ENVIRONMENT "WGR_SOURCE_DIR=${CMAKE_SOURCE_DIR};WGR_BINARY_DIR=${CMAKE_BINARY_DIR}")
endif()
