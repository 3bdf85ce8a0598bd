# Finds SystemC the way its package supports: an Accellera CMake build exports
# SystemCLanguage; Debian ships only pkg-config files (systemc.pc).
find_package(SystemCLanguage CONFIG QUIET)
if(SystemCLanguage_FOUND)
  set(VBSIM_SYSTEMC_TARGET SystemC::systemc)
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(SYSTEMC REQUIRED IMPORTED_TARGET systemc>=2.3.3)
  set(VBSIM_SYSTEMC_TARGET PkgConfig::SYSTEMC)
endif()

