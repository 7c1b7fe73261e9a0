#include "auth/node_secret.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sipproxy::auth {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string to_hex(const NodeSecret& s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : s.bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}  // namespace

NodeSecret NodeSecret::random() {
    NodeSecret s;
    if (RAND_bytes(s.bytes.data(), int(s.bytes.size())) != 1)
        throw std::runtime_error("RAND_bytes failed: no secure randomness for the node secret");
    return s;
}

Expected<NodeSecret, std::string> load_or_create_node_secret(const std::filesystem::path& path,
                                                             std::string* warning) {
    const std::string name = path.string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno != ENOENT) return Unexpected("cannot read " + name + ": " + std::strerror(errno));
        // Created exclusively: two daemons starting at once cannot write different secrets
        // and both believe theirs is in use.
        NodeSecret s = NodeSecret::random();
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST) return load_or_create_node_secret(path, warning);
            return Unexpected("cannot create " + name + ": " + std::strerror(errno));
        }
        std::string text = to_hex(s) + "\n";
        const bool ok =
            ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
        const int err = errno;
        ::close(fd);
        OPENSSL_cleanse(text.data(), text.size());
        if (!ok) {
            ::unlink(path.c_str());
            return Unexpected("cannot write " + name + ": " + std::strerror(err));
        }
        return s;
    }
    if (warning && (st.st_mode & 077))
        *warning = name + " is readable by others (mode " + std::to_string((st.st_mode >> 6) & 7) +
                   std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                   "); it should be 0600";
    std::ifstream in(path);
    if (!in) return Unexpected("cannot read " + name + ": " + std::strerror(errno));
    std::stringstream buf;
    buf << in.rdbuf();
    std::string text = buf.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.pop_back();
    NodeSecret s;
    bool ok = text.size() == 2 * s.bytes.size();
    for (std::size_t i = 0; ok && i < s.bytes.size(); ++i) {
        int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        if (ok) s.bytes[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    OPENSSL_cleanse(text.data(), text.size());
    if (!ok) return Unexpected(name + ": expected 64 hex digits (a 32-byte secret)");
    return s;
}

}  // namespace sipproxy::auth
