# The wheel's command (tools/wheel/build.sh): simdjson as a static library
# built from its amalgamated sources in the build root (/opt/simdjson),
# because Debian 11 ships simdjson as a shared library only.
if(NOT TARGET simdjson::simdjson)
  add_library(simdjson::simdjson STATIC IMPORTED)
  set_target_properties(simdjson::simdjson PROPERTIES
    IMPORTED_LOCATION /opt/simdjson/libsimdjson.a
    INTERFACE_INCLUDE_DIRECTORIES /opt/simdjson/include)
endif()
set(simdjson_FOUND TRUE)
