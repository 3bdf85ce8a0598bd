# vbsim_install_headers(<dir>...): installs the headers of source folders under
# include/vbsim/<folder>, keeping the same relative include paths as in the tree.
function(vbsim_install_headers)
  foreach(dir IN LISTS ARGN)
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/${dir})
    install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/vbsim/${rel}
      FILES_MATCHING PATTERN "*.h")
  endforeach()
endfunction()
