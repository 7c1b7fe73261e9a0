#pragma once
// The byte stream under a connection: a plain TCP socket, or TLS over one (tls_store.cpp,
// the only place that uses OpenSSL's SSL API, through memory BIOs). Connection reads, writes and closes through
// this interface and does not know which one it has.
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

namespace sipproxy::transport {

class ByteStream {
public:
    virtual ~ByteStream() = default;
    // Before the first read or write: the TLS handshake (server side for an accepted
    // connection); nothing for TCP.
    virtual asio::awaitable<std::error_code> handshake() = 0;
    virtual asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(std::span<char> into) = 0;
    virtual asio::awaitable<std::error_code> write(std::string_view bytes) = 0;
    // Closes at once (no TLS close_notify wait): the socket is gone afterwards.
    virtual void close() = 0;
    virtual asio::ip::tcp::socket& socket() = 0;
    // How much the connection reads at once (its read buffer, held while it is idle):
    // TLS decrypts into a record buffer of its own, so a smaller one does there.
    virtual std::size_t read_size() const { return 16384; }
};

class TlsContexts;

std::unique_ptr<ByteStream> make_tcp_stream(asio::ip::tcp::socket socket);
// TLS over `socket` (tls_store.cpp). Server side: the certificate is chosen by SNI, the
// client's verified if the settings say so. Client side: the server's certificate is
// verified against `server_name` (a host name or an address literal), sent as SNI when
// it is a name. `listener` (server side, listener_key()) picks the listener's
// verify_clients.
std::unique_ptr<ByteStream> make_tls_stream(std::shared_ptr<const TlsContexts> contexts,
                                            asio::ip::tcp::socket socket, bool server,
                                            std::string_view server_name,
                                            std::string_view listener = {});

}  // namespace sipproxy::transport
