#pragma once
// The TLS side of the transport: certificates (a default one and more chosen by SNI),
// the CAs peers are verified against, and the OpenSSL contexts built from them. A
// TlsContexts is immutable: a reload builds a new one from the files (refusing the
// reload, with the key, file and reason, if any file is bad) and swaps it in the shared
// TlsStore; connections already open or in their handshake keep the one they started
// with. OpenSSL stays inside tls_store.cpp (build time): this header has no Asio.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"

namespace sipproxy::transport {

struct TlsCertificateFiles {
    std::string name;         // SNI host name ("sip.example.com", "*.example.com"); "" = default
    std::string certificate;  // PEM chain
    std::string private_key;  // PEM
};

struct TlsSettings {
    TlsCertificateFiles certificate;  // empty paths: no server certificate (TLS out only)
    std::vector<TlsCertificateFiles> sni;
    std::string ca_file;         // "" = the system store
    bool verify_clients = false;  // the default of every TLS listener
    // Listeners that override it (";verify_clients=" on the listen URI), by
    // listener_key(address, port).
    std::map<std::string, bool, std::less<>> listener_verify;
    std::string ciphers;         // TLS 1.2 cipher list; "" = OpenSSL's default
};

// What `status` and the metrics show of each certificate served.
struct TlsCertificateInfo {
    std::string name;  // SNI name, "" for the default certificate
    std::string file;
    std::string subject;
    std::chrono::system_clock::time_point not_after;
    std::string fingerprint;  // SHA-256 of the leaf, hex: tells a renewed file apart
};

// The key of a listener in TlsSettings::listener_verify: "127.0.0.1 5061", "::1 5061".
std::string listener_key(std::string_view address, std::uint16_t port);

// "2027-12-04T21:30:00Z"
std::string utc_text(std::chrono::system_clock::time_point t);

class TlsContexts;

// Reads and checks every file of `s` and builds the contexts; the error names the
// config key and file ("tls.certificate: /etc/sipproxy/proxy.pem: no certificate found").
Expected<std::shared_ptr<const TlsContexts>, std::string> load_tls(const TlsSettings& s);
std::vector<TlsCertificateInfo> certificates_of(const TlsContexts& c);

class TlsStore {
public:
    void set(std::shared_ptr<const TlsContexts> c) {
        std::lock_guard lock(mutex_);
        current_ = std::move(c);
    }
    std::shared_ptr<const TlsContexts> get() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const TlsContexts> current_;
};

}  // namespace sipproxy::transport
