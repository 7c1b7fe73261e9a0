#include "transport/datagram_batch.hpp"

#include <cerrno>

namespace sipproxy::transport {

DatagramBatch::DatagramBatch(std::size_t max_size, std::size_t count)
    : max_size_(max_size),
      buffers_(max_size * count),
      sources_(count),
      iovecs_(count),
      headers_(count) {
    for (std::size_t i = 0; i < count; ++i) {
        iovecs_[i] = iovec{buffers_.data() + i * max_size_, max_size_};
        headers_[i] = mmsghdr{};
        headers_[i].msg_hdr.msg_iov = &iovecs_[i];
        headers_[i].msg_hdr.msg_iovlen = 1;
    }
}

std::size_t DatagramBatch::receive(int fd, std::error_code& ec) {
    ec.clear();
    // The kernel writes back the name lengths and flags: reset them on every call.
    for (std::size_t i = 0; i < headers_.size(); ++i) {
        headers_[i].msg_hdr.msg_name = &sources_[i];
        headers_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        headers_[i].msg_hdr.msg_flags = 0;
        headers_[i].msg_len = 0;
    }
    int n;
    do {
        n = ::recvmmsg(fd, headers_.data(), static_cast<unsigned>(headers_.size()), MSG_DONTWAIT,
                       nullptr);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        ec = std::error_code(errno, std::generic_category());
        return 0;
    }
    return static_cast<std::size_t>(n);
}

}  // namespace sipproxy::transport
