#include "list_registrations.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "render.hpp"
#include "table.hpp"

namespace sipproxyctl {

namespace {

using nlohmann::json;

// An AOR as the daemon orders it: without "sip:".
std::string_view bare(std::string_view aor) {
    if (aor.substr(0, 4) == "sip:") aor.remove_prefix(4);
    return aor;
}

// The JSON output of a whole listing, written as the bindings arrive: {"registrations":
// [...]}, laid out exactly as print_json lays out a result (keys sorted, two-space indent),
// the same text a daemon without paging gives.
class JsonListing {
  public:
    explicit JsonListing(std::ostream& out) : out_(out) { out_ << "{\n  \"registrations\": ["; }
    void add(const json& binding) {
        out_ << (empty_ ? "\n" : ",\n");
        empty_ = false;
        std::string text = json_text(binding);
        std::string indented = "    ";
        for (char c : text) {
            indented += c;
            if (c == '\n') indented += "    ";
        }
        out_ << indented;
    }
    void finish() { out_ << (empty_ ? "]" : "\n  ]") << "\n}\n"; }

  private:
    std::ostream& out_;
    bool empty_ = true;
};

}  // namespace

void list_registrations(ControlClient& client, const ListOptions& options, std::ostream& out) {
    // With --limit the output is bounded: gathered, then printed with `next` (which sorts
    // first). Without, it streams and ends where the listing ends (no `next` needed).
    std::optional<JsonListing> listing;
    json gathered = json::array();
    const bool gather = options.json && options.limit;
    if (options.json && !gather) listing.emplace(out);
    Table table = registrations_table();
    bool any = false;

    std::string after = options.after;
    std::size_t aors = 0;  // AORs printed so far
    std::string last_aor;  // of the last binding printed
    json next = nullptr;   // where a later listing would go on
    for (;;) {
        std::size_t want = options.page_size;
        if (options.limit) want = std::min(want, options.limit - aors);
        json args{{"limit", want}};
        if (!after.empty()) args["after"] = after;
        json result = client.result("show_registrations", args);

        const json empty = json::array();
        auto found = result.find("registrations");
        const json& page = found != result.end() && found->is_array() ? *found : empty;
        // A daemon that does not page (older) sends everything and no "next"; a limit is
        // then applied here.
        bool cut = false;
        for (const auto& b : page) {
            std::string aor = b.is_object() ? b.value("aor", "") : "";
            if (aor != last_aor) {
                if (options.limit && aors == options.limit) {
                    cut = true;
                    break;
                }
                ++aors;
                last_aor = aor;
            }
            any = true;
            if (gather)
                gathered.push_back(b);
            else if (listing)
                listing->add(b);
            else
                table.add_row(registration_row(b));
        }
        if (!options.json && !table.empty()) table.print_new_rows(out);
        out.flush();

        auto n = result.find("next");
        next = cut ? json(last_aor) : n != result.end() && n->is_string() ? *n : json(nullptr);
        if (next.is_null() || cut || (options.limit && aors == options.limit)) break;
        if (bare(next.get<std::string>()) <= bare(after))
            throw BadReply("sipproxyd's listing does not advance (next \"" +
                           next.get<std::string>() + "\" after \"" + after + "\")");
        after = next.get<std::string>();
    }
    if (gather) {
        json result{{"registrations", std::move(gathered)}, {"next", next}};
        out << json_text(result) << '\n';
    } else if (listing) {
        listing->finish();
    } else if (!any) {
        out << "no registrations\n";
    }
}

}  // namespace sipproxyctl
