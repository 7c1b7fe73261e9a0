// The only translation unit with OpenSSL's SSL API (build time).
#include "transport/tls_store.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>
#include <map>

#include "transport/byte_stream.hpp"

namespace sipproxy::transport {

namespace {
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

std::string openssl_reason() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        const char* reason = ERR_reason_error_string(e);
        if (!out.empty()) out += "; ";
        out += reason ? reason : buf;
    }
    return out.empty() ? "unknown error" : out;
}

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
}  // namespace

class TlsContexts {
public:
    // Server side: the default certificate's context and one per SNI name.
    CtxPtr server;
    std::map<std::string, CtxPtr, std::less<>> sni;
    // Client side (connections the proxy opens): verifies the server, presents the
    // default certificate if there is one (trunks that verify their clients).
    CtxPtr client;
    std::vector<TlsCertificateInfo> certificates;
    bool verify_clients = false;
    std::map<std::string, bool, std::less<>> listener_verify;

    bool verifies(std::string_view listener) const {
        auto it = listener_verify.find(listener);
        return it != listener_verify.end() ? it->second : verify_clients;
    }

    SSL_CTX* for_name(std::string_view name) const {
        if (auto it = sni.find(name); it != sni.end()) return it->second.get();
        // *.example.com matches one label (RFC 6125 6.4.3).
        if (auto dot = name.find('.'); dot != std::string_view::npos) {
            std::string wildcard = "*" + std::string(name.substr(dot));
            if (auto it = sni.find(wildcard); it != sni.end()) return it->second.get();
        }
        return nullptr;
    }
};

namespace {

// RFC 6066 3: the certificate for the name the client asked for, else the default.
int choose_by_sni(SSL* ssl, int*, void* arg) {
    const auto* contexts = static_cast<const TlsContexts*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name) return SSL_TLSEXT_ERR_OK;
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // The SSL keeps its own verify mode (its listener's, set in make_tls_stream); the
    // CAs come from the new context, which loaded the same ones.
    if (SSL_CTX* ctx = contexts->for_name(lower)) SSL_set_SSL_CTX(ssl, ctx);
    return SSL_TLSEXT_ERR_OK;
}

Expected<CtxPtr, std::string> new_context(const TlsSettings& s, bool server) {
    CtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
    if (!ctx) return Unexpected{"tls: " + openssl_reason()};
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    // Buffers are freed while a connection is idle: most of what an idle TLS
    // connection would otherwise hold (bench/README.md).
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), s.ciphers.c_str()) != 1) {
        ERR_clear_error();
        return Unexpected{"tls.ciphers: no usable cipher in '" + s.ciphers + "'"};
    }
    // Server side: the CAs are loaded if any listener verifies its clients; the verify
    // mode itself is set per connection by its listener (make_tls_stream).
    bool any_listener_verifies = s.verify_clients;
    for (const auto& [key, on] : s.listener_verify) any_listener_verifies |= on;
    const bool verify = !server || any_listener_verifies;
    if (verify) {
        if (!s.ca_file.empty()) {
            if (SSL_CTX_load_verify_locations(ctx.get(), s.ca_file.c_str(), nullptr) != 1)
                return Unexpected{"tls.ca_file: " + s.ca_file + ": " + openssl_reason()};
        } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
            return Unexpected{"tls.ca_file: the system CA store: " + openssl_reason()};
        }
        SSL_CTX_set_verify(ctx.get(),
                           server ? (s.verify_clients ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                      : SSL_VERIFY_NONE)
                                  : SSL_VERIFY_PEER,
                           nullptr);
        if (server && !s.ca_file.empty()) {
            // Tell clients which CAs are accepted.
            if (auto* names = SSL_load_client_CA_file(s.ca_file.c_str()))
                SSL_CTX_set_client_CA_list(ctx.get(), names);
            ERR_clear_error();
        }
    }
    return ctx;
}

std::string hex(const unsigned char* p, unsigned n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

// Loads a certificate chain and its key into `ctx`; the error names the key and file.
Expected<TlsCertificateInfo, std::string> use_certificate(SSL_CTX* ctx, const TlsCertificateFiles& f,
                                                          const std::string& key) {
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, f.certificate.c_str()) != 1)
        return Unexpected{key + "certificate: " + f.certificate + ": " + openssl_reason()};
    if (SSL_CTX_use_PrivateKey_file(ctx, f.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
        return Unexpected{key + "private_key: " + f.private_key + ": " + openssl_reason()};
    if (SSL_CTX_check_private_key(ctx) != 1)
        return Unexpected{key + "private_key: " + f.private_key + ": does not match " +
                          f.certificate + " (" + openssl_reason() + ")"};
    X509* x = SSL_CTX_get0_certificate(ctx);
    TlsCertificateInfo info;
    info.name = f.name;
    info.file = f.certificate;
    char subject[256] = "";
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
    info.subject = subject;
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        info.not_after = std::chrono::system_clock::from_time_t(timegm(&tm));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (X509_digest(x, EVP_sha256(), md, &n) == 1) info.fingerprint = hex(md, n);
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        return Unexpected{key + "certificate: " + f.certificate + ": expired"};
    return info;
}

}  // namespace

Expected<std::shared_ptr<const TlsContexts>, std::string> load_tls(const TlsSettings& s) {
    auto out = std::make_shared<TlsContexts>();
    out->verify_clients = s.verify_clients;
    out->listener_verify = s.listener_verify;
    const bool has_certificate = !s.certificate.certificate.empty();
    if (has_certificate) {
        auto server = new_context(s, true);
        if (!server) return Unexpected{server.error()};
        auto info = use_certificate(server->get(), s.certificate, "tls.");
        if (!info) return Unexpected{info.error()};
        out->certificates.push_back(std::move(*info));
        out->server = std::move(*server);
        for (std::size_t i = 0; i < s.sni.size(); ++i) {
            auto ctx = new_context(s, true);
            if (!ctx) return Unexpected{ctx.error()};
            auto sinfo = use_certificate(ctx->get(), s.sni[i],
                                         "tls.sni[" + std::to_string(i) + "].");
            if (!sinfo) return Unexpected{sinfo.error()};
            out->certificates.push_back(std::move(*sinfo));
            out->sni.emplace(s.sni[i].name, std::move(*ctx));
        }
        SSL_CTX_set_tlsext_servername_callback(out->server.get(), choose_by_sni);
        SSL_CTX_set_tlsext_servername_arg(out->server.get(), out.get());
    }
    auto client = new_context(s, false);
    if (!client) return Unexpected{client.error()};
    if (has_certificate) {
        auto info = use_certificate(client->get(), s.certificate, "tls.");
        if (!info) return Unexpected{info.error()};
    }
    out->client = std::move(*client);
    return std::shared_ptr<const TlsContexts>(std::move(out));
}

std::vector<TlsCertificateInfo> certificates_of(const TlsContexts& c) { return c.certificates; }

std::string utc_text(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

namespace {

// TLS over a TCP socket through OpenSSL memory BIOs: ciphertext is read from the socket
// into the read BIO and written from the write BIO, each through a buffer that exists only
// while bytes move. asio::ssl::stream keeps two 17 kB record buffers for the life of every
// connection; this keeps none (with SSL_MODE_RELEASE_BUFFERS an idle connection holds
// little more than its SSL object: bench/README.md).
class TlsStream final : public ByteStream {
public:
    TlsStream(std::shared_ptr<const TlsContexts> contexts, SSL_CTX* ctx, asio::ip::tcp::socket s,
              bool server)
        : contexts_(std::move(contexts)), socket_(std::move(s)), ssl_(SSL_new(ctx)) {
        BIO* in = BIO_new(BIO_s_mem());
        BIO* out = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(in, -1);  // empty: "retry", not end of stream
        SSL_set_bio(ssl_.get(), in, out);
        if (server) SSL_set_accept_state(ssl_.get());
        else SSL_set_connect_state(ssl_.get());
    }

    // Server side: whether this connection's listener asks for a client certificate.
    void verify_clients(bool on) {
        SSL_set_verify(ssl_.get(), on ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
                       nullptr);
    }

    // Client side: the name the certificate must carry, sent as SNI when it is a name.
    bool expect(std::string_view name) {
        SSL* ssl = ssl_.get();
        const std::string n(name);
        asio::error_code ec;
        asio::ip::make_address(n, ec);
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(param, n.c_str()) == 1;
        SSL_set_tlsext_host_name(ssl, n.c_str());
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        return X509_VERIFY_PARAM_set1_host(param, n.c_str(), n.size()) == 1;
    }

    asio::awaitable<std::error_code> handshake() override {
        for (;;) {
            ERR_clear_error();
            const int r = SSL_do_handshake(ssl_.get());
            if (r == 1) co_return co_await flush();
            const int e = SSL_get_error(ssl_.get(), r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                const auto err = error(e);
                co_await flush();  // the alert, if any
                co_return err;
            }
            if (auto ec = co_await flush()) co_return ec;
            if (e == SSL_ERROR_WANT_READ)
                if (auto ec = co_await fill()) co_return ec;
        }
    }

    asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(std::span<char> into) override {
        using Result = std::pair<std::error_code, std::size_t>;
        for (;;) {
            ERR_clear_error();
            const int n = SSL_read(ssl_.get(), into.data(), static_cast<int>(into.size()));
            if (n > 0) co_return Result{{}, static_cast<std::size_t>(n)};
            const int e = SSL_get_error(ssl_.get(), n);
            if (e == SSL_ERROR_ZERO_RETURN) co_return Result{asio::error::eof, 0};
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) co_return Result{error(e), 0};
            // TLS 1.3 session tickets, key updates: whatever OpenSSL wants to send.
            if (auto ec = co_await flush()) co_return Result{ec, 0};
            if (e == SSL_ERROR_WANT_READ)
                if (auto ec = co_await fill()) co_return Result{ec, 0};
        }
    }

    asio::awaitable<std::error_code> write(std::string_view bytes) override {
        while (!bytes.empty()) {
            ERR_clear_error();
            const int n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
            if (n <= 0) {
                const int e = SSL_get_error(ssl_.get(), n);
                if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) co_return error(e);
            } else {
                bytes.remove_prefix(static_cast<std::size_t>(n));
            }
            if (auto ec = co_await flush()) co_return ec;
        }
        co_return std::error_code{};
    }

    void close() override {
        // No close_notify exchange: the peer may be gone, and nothing waits for it.
        asio::error_code ec;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }
    asio::ip::tcp::socket& socket() override { return socket_; }
    std::size_t read_size() const override { return 4096; }

private:
    struct SslFree {
        void operator()(SSL* s) const { SSL_free(s); }
    };

    std::error_code error(int e) const {
        if (e == SSL_ERROR_SSL) {
            if (unsigned long code = ERR_peek_last_error())
                return {static_cast<int>(code), asio::error::get_ssl_category()};
        }
        if (e == SSL_ERROR_SYSCALL) return asio::error::connection_reset;
        return std::make_error_code(std::errc::protocol_error);
    }

    // Writes what the write BIO holds. The reader (handshake, tickets) and the writer may
    // both want to: one writes, the other leaves it the bytes it added.
    asio::awaitable<std::error_code> flush() {
        if (flushing_) co_return std::error_code{};
        flushing_ = true;
        std::error_code result;
        while (BIO_ctrl_pending(SSL_get_wbio(ssl_.get())) > 0) {
            std::string chunk(BIO_ctrl_pending(SSL_get_wbio(ssl_.get())), '\0');
            const int n = BIO_read(SSL_get_wbio(ssl_.get()), chunk.data(), static_cast<int>(chunk.size()));
            if (n <= 0) break;
            chunk.resize(static_cast<std::size_t>(n));
            auto [ec, written] = co_await asio::async_write(socket_, asio::buffer(chunk), use_nothrow);
            (void)written;
            if (ec) {
                result = ec;
                break;
            }
        }
        flushing_ = false;
        co_return result;
    }

    // Waits for ciphertext (holding no buffer while it waits) and gives it to OpenSSL.
    asio::awaitable<std::error_code> fill() {
        auto [wait_ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_nothrow);
        if (wait_ec) co_return wait_ec;
        std::string chunk(17 * 1024, '\0');
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), use_nothrow);
        if (ec) co_return ec;
        BIO_write(SSL_get_rbio(ssl_.get()), chunk.data(), static_cast<int>(n));
        co_return std::error_code{};
    }

    std::shared_ptr<const TlsContexts> contexts_;  // outlives the SSL object
    asio::ip::tcp::socket socket_;
    std::unique_ptr<SSL, SslFree> ssl_;
    bool flushing_ = false;
};

}  // namespace

std::string listener_key(std::string_view address, std::uint16_t port) {
    return std::string(address) + " " + std::to_string(port);
}

std::unique_ptr<ByteStream> make_tls_stream(std::shared_ptr<const TlsContexts> contexts,
                                            asio::ip::tcp::socket socket, bool server,
                                            std::string_view server_name,
                                            std::string_view listener) {
    if (!contexts) return nullptr;
    SSL_CTX* ctx = server ? contexts->server.get() : contexts->client.get();
    if (!ctx) return nullptr;  // no certificate: nothing to serve
    const bool verify = server && contexts->verifies(listener);
    auto s = std::make_unique<TlsStream>(std::move(contexts), ctx, std::move(socket), server);
    if (server)
        s->verify_clients(verify);
    if (!server && !s->expect(server_name)) return nullptr;
    return s;
}

}  // namespace sipproxy::transport
