# cmake -P script run at install time (see VbsimPackage.cmake): installed headers include each
# other as <vbsim/models/...>, whatever spelling the source tree used, so a consumer needs only
# <prefix>/include on its include path and never sees a bare "models/" that could collide with
# its own. A header already written as <vbsim/...> is left as it is.
file(GLOB_RECURSE headers ${VBSIM_INSTALLED_INCLUDE_DIR}/vbsim/*.h)
foreach(header IN LISTS headers)
  file(READ ${header} text)
  string(REGEX REPLACE "#include \"(models|spec|sw|platform|plugin)/([^\"]+)\"" "#include <vbsim/\\1/\\2>"
    rewritten "${text}")
  if(NOT rewritten STREQUAL text)
    file(WRITE ${header} "${rewritten}")
  endif()
endforeach()
