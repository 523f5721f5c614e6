# The wheel's command (tools/wheel/build.sh): Debian 11's libyaml-cpp.a, so
# the command needs no libyaml-cpp.so on the machine it runs on.
if(NOT TARGET yaml-cpp)
  add_library(yaml-cpp STATIC IMPORTED)
  set_target_properties(yaml-cpp PROPERTIES
    IMPORTED_LOCATION /usr/lib/x86_64-linux-gnu/libyaml-cpp.a
    INTERFACE_INCLUDE_DIRECTORIES /usr/include)
endif()
set(yaml-cpp_FOUND TRUE)
