# The Debian package (cpack -G DEB in the build folder): the programs under /usr, the
# configuration as a conffile in /etc/sipproxy, the hardened systemd unit, a `sipproxy`
# system user that owns /var/lib/sipproxy. Maintainer scripts in cmake/deb/.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "sipproxy")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "sipproxy maintainers <sipproxy@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SIP proxy and registrar with an admin CLI")
set(CPACK_PACKAGE_DESCRIPTION
    "sipproxyd routes SIP calls to registered devices and by a dial plan to gateways, with \
digest authentication, RFC 3261 transactions and a TOML configuration that reloads \
without dropping calls. sipproxyctl administers it over a Unix socket.")
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/cmake/deb/postinst;${PROJECT_SOURCE_DIR}/cmake/deb/prerm;${PROJECT_SOURCE_DIR}/cmake/deb/postrm;${PROJECT_SOURCE_DIR}/cmake/deb/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
