#pragma once
// Reads the datagrams waiting on a UDP socket with one recvmmsg(2) call, into buffers made
// once. Its caller waits for readability first (the event loop's epoll), so an idle worker
// costs one epoll_wait and one recvmmsg per wake-up instead of a receive, and a speculative
// receive that only returns EAGAIN before the next epoll_wait; under load one call brings
// several datagrams.
#include <sys/socket.h>

#include <cstddef>
#include <string_view>
#include <system_error>
#include <vector>

namespace sipproxy::transport {

class DatagramBatch {
  public:
    // `max_size`: bytes kept of one datagram (a longer one arrives cut to this length);
    // `count`: datagrams read by one call at most.
    DatagramBatch(std::size_t max_size, std::size_t count);
    DatagramBatch(const DatagramBatch&) = delete;
    DatagramBatch& operator=(const DatagramBatch&) = delete;

    // Never blocks. The number of datagrams read (0 when none was waiting or on an error,
    // then in `ec`; datagrams read before an error are returned, the error comes with the
    // next call).
    std::size_t receive(int fd, std::error_code& ec);
    std::size_t capacity() const { return headers_.size(); }

    // The i-th datagram of the last receive(): valid until the next one.
    std::string_view data(std::size_t i) const {
        return {buffers_.data() + i * max_size_, headers_[i].msg_len};
    }
    const sockaddr* source(std::size_t i) const {
        return reinterpret_cast<const sockaddr*>(&sources_[i]);
    }
    socklen_t source_size(std::size_t i) const { return headers_[i].msg_hdr.msg_namelen; }

  private:
    std::size_t max_size_;
    std::vector<char> buffers_;
    std::vector<sockaddr_storage> sources_;
    std::vector<iovec> iovecs_;
    std::vector<mmsghdr> headers_;
};

}  // namespace sipproxy::transport
