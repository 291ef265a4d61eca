// The registration self-check and the service catalogue. Each requirement reads only what the
// store and the configuration hold; a requirement is met on evidence, never by default.

#include "mimamori/server/selfcheck.h"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <map>

#include "contracts/contracts.h"
#include "mimamori/server/ipa_stats.h"
#include "triage/catalogue.h"

namespace mimamori::server {
namespace {

namespace json = boost::json;

// YYYY-MM-DD of `micros` in JST.
std::string jst_date(int64_t micros) {
  std::time_t t = static_cast<std::time_t>(micros / 1000000 + 9 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

SelfCheckText ev(std::string ja, std::string en) {
  return SelfCheckText{std::move(ja), std::move(en)};
}

SelfCheckItem item(int n, std::string key, std::string ja, std::string en) {
  SelfCheckItem i;
  i.number = n;
  i.key = std::move(key);
  i.title_ja = std::move(ja);
  i.title_en = std::move(en);
  i.status = "unmet";
  return i;
}

Result<int64_t> count(SqlTx& tx, const std::string& sql) {
  auto r = tx.q(sql);
  if (!r.ok()) return r.error();
  return r->empty() ? int64_t{0} : r->i64(0, 0);
}

// What requirement 3 reads: the active technicians' prefectures, every customer's prefecture
// and name, and the dispatches of the last 90 days.
struct DispatchCover {
  int64_t technicians = 0;                       ///< active: enabled, with a window
  std::map<std::string, int64_t> by_prefecture;  ///< active technicians serving each
  std::map<std::string, std::pair<std::string, std::string>> customers;  ///< id → name, pref.
  int64_t dispatches = 0, onsite = 0, resolved_remotely = 0, arrived = 0, late = 0;
  int64_t arrival_s = 0, promised_s = 0;  ///< sums over the arrivals with a promise
};

Status read_dispatch_cover(SqlTx& tx, int64_t now, DispatchCover& c) {
  auto t = tx.q(
      "SELECT t.prefectures, t.availability FROM technicians t JOIN users u ON u.id = "
      "t.user_id WHERE u.disabled = 0 AND u.customer_id IS NULL AND u.role IN ('technician', "
      "'analyst')");
  if (!t.ok()) return t.error();
  for (size_t i = 0; i < t->size(); ++i) {
    if (t->str(i, 1).find_first_not_of(" \n") == std::string::npos) continue;  // never on duty
    ++c.technicians;
    const std::string prefs = t->str(i, 0);
    size_t at = 0;
    while (at <= prefs.size()) {
      size_t nl = prefs.find('\n', at);
      if (nl == std::string::npos) nl = prefs.size();
      if (nl > at) ++c.by_prefecture[prefs.substr(at, nl - at)];
      at = nl + 1;
    }
  }
  auto cu = tx.q("SELECT id, name, prefecture FROM customers");
  if (!cu.ok()) return cu.error();
  for (size_t i = 0; i < cu->size(); ++i) {
    c.customers[cu->str(i, 0)] = {cu->str(i, 1), cu->str(i, 2)};
  }
  auto d = tx.q(
      "SELECT d.state, d.requested_at, d.promised_at, (SELECT MIN(s.at) FROM dispatch_steps s "
      "WHERE s.dispatch_id = d.id AND s.state = 'arrived') FROM dispatches d WHERE d.created_at "
      ">= $1",
      {sp(now - int64_t{90} * 86400 * 1000000)});
  if (!d.ok()) return d.error();
  for (size_t i = 0; i < d->size(); ++i) {
    ++c.dispatches;
    const std::string state = d->str(i, 0);
    if (state == "resolved") ++c.resolved_remotely;
    const int64_t requested = d->i64(i, 1), promised = d->i64(i, 2), arrived = d->i64(i, 3);
    if (requested > 0) ++c.onsite;
    if (requested > 0 && promised > 0 && arrived > 0) {
      ++c.arrived;
      c.arrival_s += (arrived - requested) / 1000000;
      c.promised_s += (promised - requested) / 1000000;
      if (arrived > promised) ++c.late;
    }
  }
  return {};
}

// Hours with one decimal.
std::string hours(int64_t seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(seconds) / 3600.0);
  return buf;
}

// Requirement 3: every customer with an active contract has at least one active technician
// serving its prefecture; the evidence counts technicians by prefecture and the last 90 days'
// dispatches with their mean arrival against the promise.
SelfCheckItem dispatch_item(const std::vector<Plan>& plans,
                            const std::vector<const Contract*>& active, const DispatchCover& c) {
  auto i = item(3, "dispatch", "緊急時の対応支援 (駆け付け)", "On-site support");
  int64_t with_terms = 0;
  for (const auto& pl : plans) {
    if (pl.status == "registered" && !pl.dispatch.empty()) ++with_terms;
  }
  std::string per_ja, per_en;
  for (const auto& [pref, n] : c.by_prefecture) {
    per_ja += (per_ja.empty() ? "" : "、") + pref + " " + std::to_string(n) + " 人";
    per_en += (per_en.empty() ? "" : ", ") + pref + " " + std::to_string(n);
  }
  i.evidence.push_back(ev("対応できる技術者: " + std::to_string(c.technicians) + " 人" +
                              (per_ja.empty() ? "" : " (" + per_ja + ")"),
                          "active technicians: " + std::to_string(c.technicians) +
                              (per_en.empty() ? "" : " (" + per_en + ")")));
  // The customers under an active contract, once each, by prefecture.
  std::map<std::string, std::vector<std::string>> uncovered;  // prefecture → customers
  std::vector<std::string> unlocated;
  std::map<std::string, bool> seen;
  int64_t served = 0;
  for (const auto* k : active) {
    if (seen[k->customer_id]) continue;
    seen[k->customer_id] = true;
    auto it = c.customers.find(k->customer_id);
    const std::string name = it == c.customers.end() ? k->customer_id : it->second.first;
    const std::string pref = it == c.customers.end() ? "" : it->second.second;
    const std::string who = name + " (" + k->customer_id + ")";
    if (pref.empty()) {
      unlocated.push_back(who);
    } else if (!c.by_prefecture.contains(pref)) {
      uncovered[pref].push_back(who);
    } else {
      ++served;
    }
  }
  i.evidence.push_back(ev("有効な契約のある顧客 " + std::to_string(seen.size()) +
                              " 社、うち担当技術者のいる都道府県の顧客 " + std::to_string(served) +
                              " 社",
                          std::to_string(served) + " of " + std::to_string(seen.size()) +
                              " customers under contract are in a prefecture a technician serves"));
  int shown = 0;
  for (const auto& [pref, who] : uncovered) {
    std::string list;
    for (const auto& w : who) list += (list.empty() ? "" : "、") + w;
    if (++shown <= 10) {
      i.evidence.push_back(ev("担当技術者のいない都道府県: " + pref + " (顧客 " + list + ")",
                              "no technician serves " + pref + " (customers " + list + ")"));
    }
  }
  for (size_t k = 0; k < unlocated.size() && k < 10; ++k) {
    i.evidence.push_back(ev("所在の都道府県が未登録の顧客: " + unlocated[k],
                            "customer without a prefecture: " + unlocated[k]));
  }
  i.evidence.push_back(
      ev("駆け付けの条件を定めた登録済みプラン: " + std::to_string(with_terms),
         "registered plans stating dispatch terms: " + std::to_string(with_terms)));
  i.evidence.push_back(ev("直近90日の対応: " + std::to_string(c.dispatches) + " 件 (訪問 " +
                              std::to_string(c.onsite) + " 件、リモートで解決 " +
                              std::to_string(c.resolved_remotely) + " 件)",
                          "the last 90 days: " + std::to_string(c.dispatches) + " dispatches (" +
                              std::to_string(c.onsite) + " on site, " +
                              std::to_string(c.resolved_remotely) + " resolved remotely)"));
  if (c.arrived > 0) {
    i.evidence.push_back(ev("到着の記録 " + std::to_string(c.arrived) + " 件: 要請から平均 " +
                                hours(c.arrival_s / c.arrived) + " 時間 (約束は平均 " +
                                hours(c.promised_s / c.arrived) + " 時間)、約束に遅れた到着 " +
                                std::to_string(c.late) + " 件",
                            std::to_string(c.arrived) + " arrivals recorded: mean " +
                                hours(c.arrival_s / c.arrived) + " h after the request (promised " +
                                hours(c.promised_s / c.arrived) + " h), " + std::to_string(c.late) +
                                " late"));
  } else {
    i.evidence.push_back(
        ev("到着の記録: 直近90日にはありません", "arrivals: none recorded in the last 90 days"));
  }
  if (!seen.empty() && uncovered.empty() && unlocated.empty() && c.technicians > 0) {
    i.status = "met";
  } else if (seen.empty()) {
    i.action = ev("有効な契約がありません", "there is no active contract");
  } else {
    std::string prefs;
    for (const auto& [pref, who] : uncovered) prefs += (prefs.empty() ? "" : "、") + pref;
    std::string ja, en;
    if (c.technicians == 0 || !prefs.empty()) {
      ja = (prefs.empty() ? std::string("技術者") : prefs + " を担当する技術者") +
           "を登録してください (担当都道府県と対応時間)";
      en = "register a technician" + (prefs.empty() ? std::string() : " serving " + prefs) +
           " (prefectures and availability)";
    }
    if (!unlocated.empty()) {
      ja += std::string(ja.empty() ? "" : "。") +
            "顧客の都道府県を記録してください (mimamori admin customer prefecture)";
      en += std::string(en.empty() ? "" : "; ") +
            "record each customer's prefecture (mimamori admin customer prefecture)";
    }
    i.action = ev(ja, en);
  }
  return i;
}

}  // namespace

Result<SelfCheck> registration_self_check(Store& store, const Principal& p,
                                          const ServerOptions& options, int64_t now) {
  if (!p.is_system && (p.is_device || p.role != Role::kProviderAdmin)) {
    (void)store.audit(p, "selfcheck.read", "provider", "", p.customer_id, {}, {}, "denied");
    return core::make_error_code(403, "role {} may not read the self-check: provider_admin only",
                                 p.is_device ? "device" : role_name(p.role));
  }
  auto plans = list_plans(store, p);
  if (!plans.ok()) return plans.error();
  std::map<std::string, const Plan*> by_id;
  for (const auto& pl : *plans) by_id[pl.id] = &pl;
  auto contracts = list_contracts(store, p, "");
  if (!contracts.ok()) return contracts.error();
  const std::string today = jst_date(now);

  int64_t oncall = 0, provider_channels = 0, customers = 0, devices = 0, enrolled_by_code = 0,
          audit_rows = 0, last_audit = 0, tickets = 0, policies = 0, claims = 0;
  std::vector<std::string> silent;  // device ids under an active contract that are silent
  int64_t contracted_devices = 0;
  std::map<std::string, int64_t> channel_kinds;
  DispatchCover cover;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto c = count(tx, "SELECT COUNT(*) FROM oncall");
    if (!c.ok()) return c.error();
    oncall = *c;
    auto ch = tx.q(
        "SELECT kind, COUNT(*) FROM channels WHERE customer_id IS NULL AND enabled = 1 GROUP BY "
        "kind ORDER BY kind");
    if (!ch.ok()) return ch.error();
    for (size_t i = 0; i < ch->size(); ++i) {
      channel_kinds[ch->str(i, 0)] = ch->i64(i, 1);
      provider_channels += ch->i64(i, 1);
    }
    if (c = count(tx, "SELECT COUNT(*) FROM customers"); !c.ok()) return c.error();
    customers = *c;
    if (c = count(tx, "SELECT COUNT(*) FROM devices WHERE status = 'active'"); !c.ok()) {
      return c.error();
    }
    devices = *c;
    if (c = count(tx, "SELECT COUNT(*) FROM enrollment_codes WHERE used_at IS NOT NULL"); !c.ok()) {
      return c.error();
    }
    enrolled_by_code = *c;
    auto a = tx.q("SELECT COUNT(*), COALESCE(MAX(at), 0) FROM audit_log");
    if (!a.ok()) return a.error();
    audit_rows = a->i64(0, 0);
    last_audit = a->i64(0, 1);
    if (c = count(tx, "SELECT COUNT(*) FROM desk_tickets"); !c.ok()) return c.error();
    tickets = *c;
    if (c = count(tx, "SELECT COUNT(*) FROM insurance_policies"); !c.ok()) return c.error();
    policies = *c;
    if (c = count(tx, "SELECT COUNT(*) FROM insurance_claims"); !c.ok()) return c.error();
    claims = *c;
    if (auto d = read_dispatch_cover(tx, now, cover); !d.ok()) return d;
    for (const auto& k : *contracts) {
      if (k.status != "active") continue;
      for (const auto& d : k.device_ids) {
        ++contracted_devices;
        auto r = tx.q("SELECT status, monitoring_stopped FROM devices WHERE id = $1", {sp(d)});
        if (!r.ok()) return r.error();
        if (r->empty() || r->str(0, 0) != "active" || r->i64(0, 1) != 0) silent.push_back(d);
      }
    }
    return {};
  });
  if (!st.ok()) return st.error();

  std::vector<const Contract*> active;
  for (const auto& k : *contracts) {
    if (k.status == "active") active.push_back(&k);
  }

  SelfCheck out;
  out.generated_at = now;

  {  // 1 相談窓口
    auto i = item(1, "desk", "相談窓口", "Help desk");
    const auto& d = options.desk;
    i.evidence.push_back(
        ev("ポータルの問い合わせ(チケット)は常に受付: これまで " + std::to_string(tickets) + " 件",
           "portal tickets are always open: " + std::to_string(tickets) + " so far"));
    i.evidence.push_back(d.hours.empty() ? ev("窓口の営業時間が未設定", "desk hours not set")
                                         : ev("営業時間 (平日, JST): " + d.hours,
                                              "hours (business days, JST): " + d.hours));
    i.evidence.push_back(d.mail_enabled ? ev("メール受付: 有効 (" + d.address + ")",
                                             "inbound mail: enabled (" + d.address + ")")
                                        : ev("メール受付: 無効 (desk.mail_enabled: false)",
                                             "inbound mail: disabled (desk.mail_enabled: false)"));
    i.evidence.push_back(
        options.notify.smtp_url.empty()
            ? ev("返信メールの送信: SMTP 未設定", "replies by mail: no SMTP relay")
            : ev("返信メールの送信: SMTP 設定済み", "replies by mail: SMTP relay configured"));
    if (!d.hours.empty() && d.mail_enabled && !options.notify.smtp_url.empty()) {
      i.status = "met";
    } else {
      i.action = ev("desk.hours, desk.mail_enabled: true と notify.smtp_url を設定してください",
                    "set desk.hours, desk.mail_enabled: true and notify.smtp_url");
    }
    out.items.push_back(std::move(i));
  }
  {  // 2 異常の監視 (24 hours)
    auto i = item(2, "monitoring", "異常の監視 (24時間)", "24-hour monitoring");
    i.evidence.push_back(ev("当番表 (エスカレーション先): " + std::to_string(oncall) + " 人",
                            "on-call rotation: " + std::to_string(oncall) + " people"));
    std::string kinds;
    for (const auto& [k, n] : channel_kinds) {
      kinds += (kinds.empty() ? "" : ", ") + k + " " + std::to_string(n);
    }
    i.evidence.push_back(ev("事業者の通知チャネル: " + std::to_string(provider_channels) + " (" +
                                (kinds.empty() ? "なし" : kinds) + ")",
                            "provider notification channels: " + std::to_string(provider_channels) +
                                " (" + (kinds.empty() ? "none" : kinds) + ")"));
    i.evidence.push_back(
        options.deliver_notifications
            ? ev("通知の送信: 有効、未確認の重大事案は " +
                     std::to_string(options.escalation_after_s / 60) + " 分ごとに次の当番へ",
                 "notification delivery on; unacknowledged critical incidents escalate every " +
                     std::to_string(options.escalation_after_s / 60) + " min")
            : ev("通知の送信: 無効 (deliver_notifications: false)", "notification delivery off"));
    i.evidence.push_back(
        ev("有効な契約の監視機器: " + std::to_string(contracted_devices) + " 台、うち監視停止 " +
               std::to_string(silent.size()) + " 台",
           "devices under active contracts: " + std::to_string(contracted_devices) + ", silent " +
               std::to_string(silent.size())));
    for (size_t k = 0; k < silent.size() && k < 10; ++k) {
      i.evidence.push_back(ev("監視停止: " + silent[k], "silent: " + silent[k]));
    }
    i.evidence.push_back(ev("当番表に時間帯の記録がないため、24時間×7日の穴の有無は点検できません",
                            "the rotation records no hours: a gap in 24×7 cover cannot be seen"));
    if (oncall > 0 && provider_channels > 0 && options.deliver_notifications &&
        contracted_devices > 0 && silent.empty()) {
      i.status = "met";
    } else {
      i.action =
          ev("当番表と事業者の通知チャネルを登録し、契約した機器がすべて通信していることを確認して"
             "ください",
             "set the on-call rotation and a provider channel, and make every contracted device "
             "report");
    }
    out.items.push_back(std::move(i));
  }
  {  // 3 緊急時の対応支援
    out.items.push_back(dispatch_item(*plans, active, cover));
  }
  {  // 4 簡単さ
    auto i = item(4, "ease", "導入・運用の簡単さ", "Ease of use");
    int64_t unexplained = 0;
    const auto& cats = Catalogue::get().categories();
    for (const auto& c : cats) {
      if (c.title.empty() || c.what.empty() || c.danger.empty() || c.action.empty()) {
        ++unexplained;
        i.evidence.push_back(ev("日本語の説明がない分類: " + c.name,
                                "category without a Japanese explanation: " + c.name));
      }
    }
    i.evidence.push_back(ev("アラート分類 " + std::to_string(cats.size()) +
                                " 種すべてに「何が起きたか・危険度・今すること」: " +
                                (unexplained == 0 ? "あり" : "不足"),
                            std::to_string(cats.size()) + " alert categories, explained: " +
                                (unexplained == 0 ? "all" : "not all")));
    i.evidence.push_back(ev("登録コードで導入された機器: " + std::to_string(enrolled_by_code) +
                                " 台 (稼働中 " + std::to_string(devices) + " 台)",
                            "devices enrolled with a code: " + std::to_string(enrolled_by_code) +
                                " (active " + std::to_string(devices) + ")"));
    if (unexplained == 0 && enrolled_by_code > 0) {
      i.status = "met";
    } else {
      i.action = ev("登録コードで機器を導入してください (ワンコマンド導入)",
                    "enroll devices with an enrollment code (one-command install)");
    }
    out.items.push_back(std::move(i));
  }
  {  // 5 簡易サイバー保険
    auto i = item(5, "insurance", "簡易サイバー保険", "Cyber insurance");
    int64_t lapsed = 0;
    for (const auto* k : active) {
      if (k->insurance_policy.empty() || k->insurance_until < today) {
        ++lapsed;
        if (lapsed <= 10) {
          i.evidence.push_back(
              ev("保険が失効: 契約 " + k->id + " (" + k->insurance_until + " まで)",
                 "policy lapsed: contract " + k->id + " (until " + k->insurance_until + ")"));
        }
      }
    }
    i.evidence.push_back(ev("有効な契約 " + std::to_string(active.size()) + " 件、保険が有効 " +
                                std::to_string(active.size() - lapsed) + " 件 (" + today + " 時点)",
                            std::to_string(active.size()) + " active contracts, " +
                                std::to_string(active.size() - lapsed) +
                                " with a policy in force (" + today + ")"));
    i.evidence.push_back(
        ev("保険証券の登録 " + std::to_string(policies) + " 件、保険金請求 " +
               std::to_string(claims) + " 件 (請求資料は各インシデントから作成できます)",
           std::to_string(policies) + " insurance policies stored, " + std::to_string(claims) +
               " claims (a claim package is made from each incident)"));
    if (!active.empty() && lapsed == 0) {
      i.status = "met";
    } else {
      i.action = ev(active.empty() ? "有効な契約がありません" : "失効した保険を更新してください",
                    active.empty() ? "there is no active contract" : "renew the lapsed policies");
    }
    out.items.push_back(std::move(i));
  }
  {  // 6 ワンパッケージ
    auto i = item(6, "package", "ワンパッケージ", "One package");
    int64_t broken = 0;
    for (const auto* k : active) {
      auto it = by_id.find(k->plan_id);
      std::vector<std::string> missing;
      if (it == by_id.end() || it->second->status != "registered") {
        missing.push_back("登録済みプラン");
      } else {
        if (it->second->desk_hours.empty()) missing.push_back("相談窓口");
        if (it->second->dispatch.empty()) missing.push_back("駆け付け");
        if (it->second->insurance_coverage <= 0) missing.push_back("保険");
      }
      if (k->device_ids.empty()) missing.push_back("監視機器");
      if (!missing.empty()) {
        ++broken;
        std::string m;
        for (const auto& s : missing) m += (m.empty() ? "" : "・") + s;
        if (broken <= 10) {
          i.evidence.push_back(ev("契約 " + k->id + " に欠けているもの: " + m,
                                  "contract " + k->id + " lacks: " + m));
        }
      }
    }
    i.evidence.push_back(ev("有効な契約 " + std::to_string(active.size()) +
                                " 件のうち、窓口・監視・駆け付け・保険を一つにまとめた契約 " +
                                std::to_string(active.size() - broken) + " 件",
                            std::to_string(active.size() - broken) + " of " +
                                std::to_string(active.size()) +
                                " active contracts bind desk, monitoring, dispatch and insurance"));
    if (!active.empty() && broken == 0) {
      i.status = "met";
    } else {
      i.action = ev("契約に機器を結び付け、プランに窓口・駆け付け・保険を定めてください",
                    "bind devices to each contract and state desk, dispatch and insurance in "
                    "its plan");
    }
    out.items.push_back(std::move(i));
  }
  {  // 7 価格
    auto i = item(7, "price", "価格", "Price");
    int64_t registered = 0, failing = 0;
    for (const auto& pl : *plans) {
      if (pl.status != "registered") continue;
      ++registered;
      auto report = check_plan(pl, options.price_policy);
      if (!report.compliant()) {
        ++failing;
        i.evidence.push_back(ev("プラン「" + pl.name + "」: " + violations_text(report),
                                "plan '" + pl.name + "' breaks " +
                                    std::to_string(report.violations.size()) + " rule(s)"));
      }
    }
    i.evidence.push_back(
        ev("登録済みプラン " + std::to_string(registered) + " 件、価格の基準を満たす " +
               std::to_string(registered - failing) + " 件",
           std::to_string(registered - failing) + " of " + std::to_string(registered) +
               " registered plans meet the price rules"));
    if (registered > 0 && failing == 0) {
      i.status = "met";
    } else {
      i.action = ev(registered == 0 ? "基準を満たすプランを登録してください"
                                    : "基準を外れたプランを直してください",
                    registered == 0 ? "register a compliant plan" : "fix the plans named above");
    }
    out.items.push_back(std::move(i));
  }
  {  // 8 実績
    auto i = item(8, "record", "実績", "Track record");
    std::string earliest;
    std::map<std::string, bool> served;
    for (const auto& k : *contracts) {
      served[k.customer_id] = true;
      if (earliest.empty() || k.start_date < earliest) earliest = k.start_date;
    }
    i.evidence.push_back(ev("顧客 " + std::to_string(customers) + " 社、うち契約実績 " +
                                std::to_string(served.size()) + " 社",
                            std::to_string(customers) + " customers, " +
                                std::to_string(served.size()) + " with a contract"));
    if (!earliest.empty()) {
      i.evidence.push_back(ev("最初の契約開始日: " + earliest, "first contract began " + earliest));
    }
    if (!served.empty()) {
      i.status = "met";
    } else {
      i.action = ev("中小企業への提供実績を書類で示してください (このシステムには契約がありません)",
                    "show the record of serving SMEs in writing (no contract in this system)");
    }
    out.items.push_back(std::move(i));
  }
  {  // 9 情報共有
    auto i = item(9, "sharing", "情報共有 (IPA への統計)", "Information sharing");
    IpaQuery q;
    q.to = today;
    q.from = jst_date(now - int64_t{90} * 86400 * 1000000);
    auto s = ipa_statistics(store, p, q);
    if (s.ok()) {
      i.status = "met";
      i.evidence.push_back(ev("直近90日の統計を出力できます (" + q.from + "〜" + q.to + "、" +
                                  std::to_string(s->cells.size()) + " セル、秘匿 " +
                                  std::to_string(s->suppressed_cells) + " セル)",
                              "the last 90 days export (" + std::to_string(s->cells.size()) +
                                  " cells, " + std::to_string(s->suppressed_cells) +
                                  " suppressed)"));
    } else {
      i.evidence.push_back(
          ev("統計の出力に失敗: " + s.error().message, "the export failed: " + s.error().message));
      i.action = ev("統計の出力を確認してください", "check the statistics export");
    }
    out.items.push_back(std::move(i));
  }
  {  // 10 事業継続性
    auto i = item(10, "continuity", "事業継続性", "Business continuity");
    i.evidence.push_back(ev("監査ログ: " + std::to_string(audit_rows) + " 件" +
                                (last_audit > 0 ? "、最新 " + jst_date(last_audit) : ""),
                            "audit log: " + std::to_string(audit_rows) + " entries" +
                                (last_audit > 0 ? ", latest " + jst_date(last_audit) : "")));
    i.evidence.push_back(ev("バックアップの記録: データベースにはありません",
                            "backups: none recorded in the database"));
    i.action =
        ev("mimamori admin backup を定期的に実行し、体制・品質管理・財務は書類で示してください",
           "run `mimamori admin backup` regularly; show staff, quality and finances in writing");
    out.items.push_back(std::move(i));
  }
  (void)store.audit(p, "selfcheck.read", "provider", "", {}, {}, {}, "ok");
  return out;
}

std::string self_check_json(const SelfCheck& s) {
  json::array items;
  int64_t met = 0, unmet = 0, nc = 0;
  for (const auto& i : s.items) {
    (i.status == "met" ? met : i.status == "unmet" ? unmet : nc) += 1;
    json::array evidence;
    for (const auto& e : i.evidence) evidence.push_back(json::object{{"ja", e.ja}, {"en", e.en}});
    json::object o{{"number", i.number},     {"key", i.key},
                   {"title_ja", i.title_ja}, {"title_en", i.title_en},
                   {"status", i.status},     {"evidence", std::move(evidence)}};
    if (!i.action.ja.empty()) o["action"] = json::object{{"ja", i.action.ja}, {"en", i.action.en}};
    items.push_back(std::move(o));
  }
  std::time_t t = static_cast<std::time_t>(s.generated_at / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json::serialize(json::object{
      {"generated_at", buf},
      {"summary", json::object{{"met", met}, {"unmet", unmet}, {"not_configured", nc}}},
      {"items", std::move(items)}});
}

Result<std::vector<CatalogueRow>> service_catalogue(Store& store, const Principal& p,
                                                    const ServerOptions& options) {
  auto plans = list_plans(store, p);
  if (!plans.ok()) return plans.error();
  std::vector<CatalogueRow> out;
  for (const auto& pl : *plans) {
    if (pl.status != "registered") continue;
    CatalogueRow r;
    r.plan_id = pl.id;
    r.service_name = pl.name;
    r.type = std::string(plan_type_name(pl.type));
    r.type_ja = std::string(plan_type_name_ja(pl.type));
    r.service_class = pl.service_class == 2 ? "2類" : "1類";
    switch (pl.type) {
      case PlanType::kNetwork:
        r.monitored = "インターネット出入口の通信 (センサー機器)";
        break;
      case PlanType::kEndpoint:
        r.monitored = "パソコン・サーバー (端末エージェント)";
        break;
      case PlanType::kCombined:
        r.monitored = "インターネット出入口の通信とパソコン・サーバー";
        break;
    }
    r.monthly_fee = pl.monthly_fee;
    r.per_device_fee = pl.per_device_fee;
    r.initial_fee = pl.initial_fee;
    r.prices_include_tax = pl.prices_include_tax;
    r.min_devices = pl.min_devices;
    r.max_devices = pl.max_devices;
    r.min_term_months = pl.min_term_months;
    r.monitoring_hours = "24時間365日";
    r.desk_hours = pl.desk_hours;
    r.dispatch = pl.dispatch;
    r.dispatch_arrival_hours = pl.dispatch_arrival_hours;
    r.notify_minutes = options.escalation_after_s / 60;
    r.insurance_coverage = pl.insurance_coverage;
    r.initial_fee_terms = pl.terms.initial_fee;
    r.term_terms = pl.terms.term;
    r.cancellation_penalty = pl.terms.cancellation_penalty;
    r.right_to_cancel = pl.terms.right_to_cancel;
    r.compliant = check_plan(pl, options.price_policy).compliant();
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// The catalogue's columns: key, Japanese header, value.
std::vector<std::pair<std::string, json::value>> catalogue_fields(const CatalogueRow& r) {
  return {{"plan_id", json::value(r.plan_id)},
          {"service_name", json::value(r.service_name)},
          {"type", json::value(r.type)},
          {"type_ja", json::value(r.type_ja)},
          {"class", json::value(r.service_class)},
          {"monitored", json::value(r.monitored)},
          {"monitoring_hours", json::value(r.monitoring_hours)},
          {"monthly_fee", json::value(r.monthly_fee)},
          {"per_device_fee", json::value(r.per_device_fee)},
          {"initial_fee", json::value(r.initial_fee)},
          {"prices_include_tax", json::value(r.prices_include_tax)},
          {"min_devices", json::value(r.min_devices)},
          {"max_devices", json::value(r.max_devices)},
          {"min_term_months", json::value(r.min_term_months)},
          {"desk_hours", json::value(r.desk_hours)},
          {"dispatch", json::value(r.dispatch)},
          {"dispatch_arrival_hours", json::value(r.dispatch_arrival_hours)},
          {"escalation_minutes", json::value(r.notify_minutes)},
          {"insurance_coverage", json::value(r.insurance_coverage)},
          {"terms_initial_fee", json::value(r.initial_fee_terms)},
          {"terms_term", json::value(r.term_terms)},
          {"terms_cancellation_penalty", json::value(r.cancellation_penalty)},
          {"terms_right_to_cancel", json::value(r.right_to_cancel)},
          {"compliant", json::value(r.compliant)}};
}

const char* const kCsvHeaders[] = {"プランID",
                                   "サービス名",
                                   "類型",
                                   "類型(日本語)",
                                   "区分",
                                   "監視対象",
                                   "監視時間",
                                   "月額(円)",
                                   "1台あたり月額(円)",
                                   "初期費用(円)",
                                   "税込",
                                   "最少台数",
                                   "最大台数(0=無制限)",
                                   "最低契約期間(月)",
                                   "相談窓口の受付時間",
                                   "駆け付け",
                                   "駆け付けの到着目安(時間)",
                                   "重大事案の連絡(分)",
                                   "保険の補償額(円)",
                                   "初期費用の定め",
                                   "契約期間の条件",
                                   "中途解約の違約金",
                                   "解約の権利",
                                   "価格基準への適合"};

std::string csv_field(const json::value& v) {
  std::string s;
  if (v.is_string()) {
    s = std::string(v.as_string());
  } else if (v.is_bool()) {
    s = v.as_bool() ? "はい" : "いいえ";
  } else {
    s = json::serialize(v);
  }
  // A leading = + - @ would be a formula in a spreadsheet: quote it as text.
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') && v.is_string()) {
    s = "'" + s;
  }
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += "\"\"";
    else if (c == '\r' || c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}

}  // namespace

std::string catalogue_json(const std::vector<CatalogueRow>& rows,
                           const std::vector<RegisteredService>& services) {
  json::array a;
  for (const auto& r : rows) {
    json::object o;
    for (auto& [k, v] : catalogue_fields(r)) o[k] = std::move(v);
    a.push_back(std::move(o));
  }
  json::array s;
  for (const auto& r : services) {
    s.push_back(json::object{{"service", r.service},
                             {"provider", r.provider},
                             {"region", r.region},
                             {"type", r.type},
                             {"source", r.source}});
  }
  return json::serialize(
      json::object{{"items", std::move(a)}, {"registered_services", std::move(s)}});
}

std::string catalogue_csv(const std::vector<CatalogueRow>& rows) {
  std::string out = "\xEF\xBB\xBF";
  bool first = true;
  for (const char* h : kCsvHeaders) {
    if (!first) out += ',';
    out += csv_field(json::value(h));
    first = false;
  }
  out += "\r\n";
  for (const auto& r : rows) {
    first = true;
    for (auto& [k, v] : catalogue_fields(r)) {
      if (!first) out += ',';
      out += csv_field(v);
      first = false;
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace mimamori::server
