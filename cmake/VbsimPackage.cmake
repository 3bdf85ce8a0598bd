# Installs headers, libraries and a CMake package so another virtual platform can
# find_package(vbsim) and link vbsim::models.
include(CMakePackageConfigHelpers)

install(EXPORT vbsimTargets
  NAMESPACE vbsim::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vbsim)

configure_package_config_file(cmake/vbsimConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/vbsimConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vbsim)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vbsimConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/vbsimConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/vbsimConfigVersion.cmake
  cmake/VbsimDependencies.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vbsim)
