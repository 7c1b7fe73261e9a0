# Runs at install time (cmake --install, CPack): writes etc/sipproxy/sipproxy.toml and the
# systemd unit for the prefix being installed to. CMAKE_INSTALL_PREFIX is that prefix here.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr" OR prefix STREQUAL "/usr/" OR prefix STREQUAL "/")
    set(etc "/etc")
else()
    set(etc "${prefix}/etc")
endif()
set(config "${etc}/sipproxy/sipproxy.toml")

# The shipped example, with state and control socket where the service keeps them.
file(READ "${SIPPROXY_SOURCE_DIR}/conf/sipproxy.toml" toml)
string(REPLACE "state_dir = \"var\"" "state_dir = \"/var/lib/sipproxy\"" toml "${toml}")
string(REPLACE "socket = \"var/sipproxy.sock\"" "socket = \"/run/sipproxy/sipproxy.sock\""
       toml "${toml}")
string(REPLACE "# Runs as-is on a laptop:   sipproxyd -c conf/sipproxy.toml"
       "# Installed with sipproxy: state in /var/lib/sipproxy, control socket in /run/sipproxy.\n# Change listen, domains and the users (their passwords are public!) before use."
       toml "${toml}")
if(NOT toml MATCHES "state_dir = \"/var/lib/sipproxy\"" OR
   NOT toml MATCHES "socket = \"/run/sipproxy/sipproxy.sock\"")
    message(FATAL_ERROR "conf/sipproxy.toml: state_dir or control.socket not found to rewrite")
endif()
set(dest "$ENV{DESTDIR}${config}")
if(EXISTS "${dest}")
    message(STATUS "Keeping: ${dest}")
else()
    message(STATUS "Installing: ${dest}")
    file(WRITE "${dest}" "${toml}")
endif()

# logrotate for the call records (in the service's state folder).
set(logrotate_dest "$ENV{DESTDIR}${etc}/logrotate.d/sipproxy")
if(NOT EXISTS "${logrotate_dest}")
    message(STATUS "Installing: ${logrotate_dest}")
    file(MAKE_DIRECTORY "$ENV{DESTDIR}${etc}/logrotate.d")
    file(COPY_FILE "${SIPPROXY_SOURCE_DIR}/conf/logrotate.d/sipproxy" "${logrotate_dest}")
endif()

file(READ "${SIPPROXY_SOURCE_DIR}/conf/sipproxyd.service.in" unit)
string(REPLACE "@SBINDIR@" "${prefix}/${SIPPROXY_SBINDIR}" unit "${unit}")
string(REPLACE "@CONFIG@" "${config}" unit "${unit}")
set(unit_dest "$ENV{DESTDIR}${prefix}/lib/systemd/system/sipproxyd.service")
message(STATUS "Installing: ${unit_dest}")
file(WRITE "${unit_dest}" "${unit}")
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${config}" "${prefix}/lib/systemd/system/sipproxyd.service")
