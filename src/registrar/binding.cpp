#include "registrar/binding.hpp"

#include <algorithm>
#include <cctype>

namespace sipproxy::registrar {

std::uint32_t Binding::expires_in(TimePoint now) const {
    if (expires_at <= now) return 0;
    auto left = std::chrono::ceil<std::chrono::seconds>(expires_at - now).count();
    return left > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(left);
}

std::string canonical_aor(std::string_view aor) {
    std::string out(aor);
    auto at = out.rfind('@');
    std::size_t host = at == std::string::npos ? 0 : at + 1;
    for (std::size_t i = host; i < out.size(); ++i)
        out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
    return out;
}

std::optional<std::uint16_t> parse_qvalue(std::string_view text) {
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
    unsigned value = (text[0] == '1') ? 1000 : 0;
    if (text.size() == 1) return static_cast<std::uint16_t>(value);
    if (text[1] != '.' || text.size() > 5) return std::nullopt;
    unsigned scale = 100;
    for (std::size_t i = 2; i < text.size(); ++i, scale /= 10) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
        value += static_cast<unsigned>(text[i] - '0') * scale;
    }
    if (value > 1000) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

std::string format_qvalue(std::uint16_t q_permille) {
    if (q_permille >= 1000) return "1";
    if (q_permille == 0) return "0";
    std::string out = "0.";
    out += static_cast<char>('0' + q_permille / 100);
    out += static_cast<char>('0' + q_permille / 10 % 10);
    out += static_cast<char>('0' + q_permille % 10);
    while (out.back() == '0') out.pop_back();
    return out;
}

void sort_by_preference(std::vector<Binding>& bindings) {
    std::stable_sort(bindings.begin(), bindings.end(), [](const Binding& a, const Binding& b) {
        if (a.q_permille != b.q_permille) return a.q_permille > b.q_permille;
        return a.registered_at > b.registered_at;
    });
}

}  // namespace sipproxy::registrar
