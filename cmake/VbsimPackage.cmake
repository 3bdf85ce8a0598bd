# Installs headers, libraries and a CMake package so another virtual platform can
# find_package(vbsim COMPONENTS models) and link vbsim::models. Components:
#   models    vbsim::spec, vbsim::models, vbsim::sw (needs SystemC only); always loaded
#   platform  vbsim::platform and the vbsim executable (needs yaml-cpp and Threads too);
#   scenario  the same as platform (the scenario loader and runner live there)
#   plugin    vbsim::plugin, the loadable module factory (an imported MODULE library: a host
#             dlopen()s $<TARGET_FILE:vbsim::plugin>; it needs nothing at configure time)
include(CMakePackageConfigHelpers)

set(vbsim_package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/vbsim)
install(EXPORT vbsimModelsTargets NAMESPACE vbsim:: DESTINATION ${vbsim_package_dir})
install(EXPORT vbsimPlatformTargets NAMESPACE vbsim:: DESTINATION ${vbsim_package_dir})
if(TARGET vbsim_plugin)
  install(EXPORT vbsimPluginTargets NAMESPACE vbsim:: DESTINATION ${vbsim_package_dir})
endif()

configure_package_config_file(cmake/vbsimConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/vbsimConfig.cmake
  INSTALL_DESTINATION ${vbsim_package_dir}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vbsimConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/vbsimConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/vbsimConfigVersion.cmake
  cmake/VbsimDependencies.cmake
  cmake/VbsimPlatformDependencies.cmake
  DESTINATION ${vbsim_package_dir})

# Last install step: installed headers include each other as <vbsim/...> (see the script).
install(CODE "set(VBSIM_INSTALLED_INCLUDE_DIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_INCLUDEDIR}\")
include(\"${PROJECT_SOURCE_DIR}/cmake/VbsimRewriteIncludes.cmake\")")
