// Technician profiles (skills, prefectures, weekly availability in JST) and the choice of the
// technician for an on-site visit.

#include <algorithm>
#include <array>

#include "dispatch/dispatch.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"

namespace mimamori::server {
namespace {

constexpr std::array<std::string_view, 47> kPrefectures = {
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県",   "福島県", "茨城県",
    "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県",
    "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県",   "愛知県", "三重県",
    "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県",
    "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県",   "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"};

constexpr std::array<std::string_view, 7> kDays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (true) {
    const size_t next = s.find(sep, at);
    out.push_back(
        s.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

int day_index(std::string_view d) {
  for (size_t i = 0; i < kDays.size(); ++i) {
    if (kDays[i] == d) return static_cast<int>(i);
  }
  return -1;
}

// "HH:MM" → minutes (24:00 allowed), -1 when malformed.
int minutes(std::string_view t) {
  if (t.size() != 5 || t[2] != ':') return -1;
  for (size_t i : {0u, 1u, 3u, 4u}) {
    if (t[i] < '0' || t[i] > '9') return -1;
  }
  const int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

// A parsed window: the days (bit per weekday, 0 = Sunday) and minutes [from, to).
struct Window {
  unsigned days = 0;
  int from = 0, to = 0;
};

Result<Window> parse_window(std::string_view w) {
  const auto sp = w.find(' ');
  if (sp == std::string_view::npos) {
    return core::make_error_code(400, "window '{}': expected '<days> HH:MM-HH:MM'", w);
  }
  Window out;
  std::string_view days = w.substr(0, sp), hours = w.substr(sp + 1);
  if (days == "all") {
    out.days = 0x7f;
  } else {
    for (auto part : split(days, ',')) {
      const auto dash = part.find('-');
      if (dash == std::string_view::npos) {
        const int d = day_index(part);
        if (d < 0) return core::make_error_code(400, "window '{}': unknown day '{}'", w, part);
        out.days |= 1u << d;
      } else {
        int a = day_index(part.substr(0, dash)), b = day_index(part.substr(dash + 1));
        if (a < 0 || b < 0) {
          return core::make_error_code(400, "window '{}': unknown day range '{}'", w, part);
        }
        for (int d = a;; d = (d + 1) % 7) {
          out.days |= 1u << d;
          if (d == b) break;
        }
      }
    }
  }
  const auto dash = hours.find('-');
  out.from = dash == std::string_view::npos ? -1 : minutes(hours.substr(0, dash));
  out.to = dash == std::string_view::npos ? -1 : minutes(hours.substr(dash + 1));
  if (out.from < 0 || out.to < 0 || out.to <= out.from) {
    return core::make_error_code(400, "window '{}': hours must be HH:MM-HH:MM, end after start", w);
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += '\n';
    s += x;
  }
  return s;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  for (auto part : split(s, '\n')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

constexpr std::string_view kTechnicianSelect =
    "SELECT u.id, u.email, u.role, t.skills, t.prefectures, t.availability, t.updated_at, "
    "(SELECT COUNT(*) FROM dispatches d WHERE d.technician_id = u.id AND d.state IN "
    "('assigned', 'departed', 'arrived', 'working')) FROM technicians t JOIN users u ON u.id = "
    "t.user_id";

Technician technician_from(const SqlRows& r, size_t i) {
  Technician t;
  t.user_id = r.str(i, 0);
  t.email = r.str(i, 1);
  t.role = r.str(i, 2);
  t.skills = lines(r.str(i, 3));
  t.prefectures = lines(r.str(i, 4));
  t.availability = lines(r.str(i, 5));
  t.updated_at = r.i64(i, 6);
  t.active = r.i64(i, 7);
  return t;
}

std::string profile_json(const Technician& t) {
  std::string j = "{\"skills\":";
  core::append_json_string(j, joined(t.skills));
  j += ",\"prefectures\":";
  core::append_json_string(j, joined(t.prefectures));
  j += ",\"availability\":";
  core::append_json_string(j, joined(t.availability));
  return j + "}";
}

}  // namespace

bool is_prefecture(std::string_view name) {
  return std::find(kPrefectures.begin(), kPrefectures.end(), name) != kPrefectures.end();
}

core::Status check_window(std::string_view window) {
  auto w = parse_window(window);
  if (!w.ok()) return w.error();
  return {};
}

bool technician_available(const std::vector<std::string>& windows, int64_t at) {
  const int64_t local = at / 1000000 + core::kJstOffsetMinutes * 60;
  const int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  const int weekday = static_cast<int>(((day % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  const int minute = static_cast<int>((local - day * 86400) / 60);
  for (const auto& text : windows) {
    auto w = parse_window(text);
    if (w.ok() && (w->days >> weekday & 1u) && minute >= w->from && minute < w->to) return true;
  }
  return false;
}

Result<std::vector<Technician>> list_technicians(Store& store, const Principal& p) {
  if (p.is_device || (!p.is_system && !is_provider_role(p.role))) {
    (void)store.audit(p, "dispatch.technicians", "technician", "", p.customer_id, {}, {}, "denied");
    return core::make_error_code(403, "technician profiles are the provider's");
  }
  std::vector<Technician> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(std::string(kTechnicianSelect) + " ORDER BY u.email");
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(technician_from(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Technician> save_technician(Store& store, const Principal& p, Technician t) {
  if (p.is_device || (!p.is_system && p.role != Role::kProviderAdmin && p.role != Role::kAnalyst)) {
    (void)store.audit(p, "dispatch.technician", "technician", t.user_id,
                      is_provider_role(p.role) ? "" : p.customer_id, {}, {}, "denied");
    return core::make_error_code(403, "only a provider_admin or analyst sets technician profiles");
  }
  if (t.skills.size() > 50 || t.prefectures.size() > 47 || t.availability.size() > 50) {
    return core::make_error_code(400, "at most 50 skills, 47 prefectures and 50 windows");
  }
  for (const auto& s : t.skills) {
    if (s.empty() || s.size() > 100 || s.find('\n') != std::string::npos) {
      return core::make_error_code(400, "skill '{}': must be 1..100 bytes on one line", s);
    }
  }
  for (const auto& pr : t.prefectures) {
    if (!is_prefecture(pr)) {
      return core::make_error_code(400, "prefecture '{}' is not one of the 47 (e.g. 東京都)", pr);
    }
  }
  for (const auto& w : t.availability) {
    if (auto st = check_window(w); !st.ok()) return st.error();
  }
  const int64_t now = core::now().micros;
  Technician out;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto u = tx.q("SELECT role, email FROM users WHERE id = $1 AND customer_id IS NULL",
                  {sp(t.user_id)});
    if (!u.ok()) return u.error();
    if (u->empty()) return core::make_error_code(404, "provider user '{}' not found", t.user_id);
    if (u->str(0, 0) != "technician" && u->str(0, 0) != "analyst") {
      return core::make_error_code(
          400, "user '{}' has role {}: technician profiles are for technicians and analysts",
          t.user_id, u->str(0, 0));
    }
    auto before = tx.q(std::string(kTechnicianSelect) + " WHERE u.id = $1", {sp(t.user_id)});
    if (!before.ok()) return before.error();
    const std::string before_json =
        before->empty() ? std::string() : profile_json(technician_from(*before, 0));
    auto r = tx.q(
        "INSERT INTO technicians (user_id, skills, prefectures, availability, updated_at) VALUES "
        "($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET skills = $2, prefectures = $3, "
        "availability = $4, updated_at = $5",
        {sp(t.user_id), sp(joined(t.skills)), sp(joined(t.prefectures)), sp(joined(t.availability)),
         sp(now)});
    if (!r.ok()) return r.error();
    auto after = tx.q(std::string(kTechnicianSelect) + " WHERE u.id = $1", {sp(t.user_id)});
    if (!after.ok()) return after.error();
    out = technician_from(*after, 0);
    return store.audit_in(tx, p, "dispatch.technician", "technician", t.user_id, "", before_json,
                          profile_json(out), "ok");
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Technician> choose_technician(SqlTx& tx, std::string_view prefecture,
                                     const std::vector<std::string>& skills, int64_t at) {
  auto r = tx.q(std::string(kTechnicianSelect) + " ORDER BY u.email");
  if (!r.ok()) return r.error();
  std::vector<Technician> fit;
  int in_region = 0, skilled = 0;
  for (size_t i = 0; i < r->size(); ++i) {
    Technician t = technician_from(*r, i);
    if (std::find(t.prefectures.begin(), t.prefectures.end(), prefecture) == t.prefectures.end()) {
      continue;
    }
    ++in_region;
    bool all = true;
    for (const auto& s : skills) {
      all = all && std::find(t.skills.begin(), t.skills.end(), s) != t.skills.end();
    }
    if (!all) continue;
    ++skilled;
    if (!technician_available(t.availability, at)) continue;
    fit.push_back(std::move(t));
  }
  if (fit.empty()) {
    std::string need;
    for (const auto& s : skills) need += (need.empty() ? "" : ", ") + s;
    return core::make_error_code(
        409,
        "no technician fits: {} serve {}, {} of them have the skills [{}], none of those is "
        "available now ({})",
        in_region, prefecture, skilled, need, core::format_local(core::Timestamp{at}));
  }
  std::stable_sort(fit.begin(), fit.end(),
                   [](const Technician& a, const Technician& b) { return a.active < b.active; });
  return fit.front();
}

}  // namespace mimamori::server
