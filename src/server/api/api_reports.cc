// The monthly customer report as a PDF download. Rendering takes tens of milliseconds: it runs on
// the report pool, never on an HTTP thread.

#include <algorithm>

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "mimamori/server/ipa_stats.h"
#include "reports/reports.h"

namespace mimamori::server {

void h_monthly_report(Call& call) {
  auto month = parse_report_month(call.param("month"));
  if (!month.ok()) return call.error(month.error());
  auto keep = std::make_shared<Call>(std::move(call));
  bool queued = keep->api->report_pool().submit([keep, m = *month] {
    try {
      auto data = gather_monthly_report(*keep->store, keep->principal, keep->param("id"), m);
      if (!data.ok()) return keep->error(data.error());
      HttpResponse r;
      r.body = render_monthly_report(*data);
      r.content_type = "application/pdf";
      // The file name is ours (customer id and month), never the customer's text.
      r.headers.emplace_back("Content-Disposition",
                             fmt::format("attachment; filename=\"mimamori-report-{}-{}.pdf\"",
                                         data->customer_id, m.key()));
      r.headers.emplace_back("Cache-Control", "no-store");
      keep->api->record(*keep, 200);
      keep->respond(std::move(r));
    } catch (const std::exception& e) {
      keep->error(500, fmt::format("internal error: {}", e.what()));
    }
  });
  if (!queued) {
    keep->json(429, "{\"error\":\"the server is busy writing reports; try again shortly\"}",
               {{"Retry-After", "2"}});
  }
}

void h_list_reports(Call& call) {
  const int64_t limit = std::clamp<int64_t>(query_int(call.req, "limit", 120), 1, 1000);
  const int64_t offset = std::max<int64_t>(0, query_int(call.req, "offset", 0));
  auto page = list_monthly_reports(*call.store, call.principal, call.param("id"),
                                   core::now().micros, limit, offset);
  if (!page.ok()) return call.error(page.error());
  json::array items;
  for (const auto& l : page->items) {
    items.push_back(json::object{
        {"month", l.month},
        {"href", fmt::format("/api/v1/customers/{}/reports/{}", call.param("id"), l.month)},
        {"mailed_at", jtime(l.mailed_at)},
        {"messages", l.messages}});
  }
  call.json(200, to_text(json::object{{"customer_id", call.param("id")},
                                      {"first_month", page->first_month},
                                      {"total", page->total},
                                      {"limit", limit},
                                      {"offset", offset},
                                      {"items", std::move(items)}}));
}

void h_send_report(Call& call) {
  auto month = parse_report_month(call.param("month"));
  if (!month.ok()) return call.error(month.error());
  auto keep = std::make_shared<Call>(std::move(call));
  bool queued = keep->api->report_pool().submit([keep, m = *month] {
    try {
      auto n = send_monthly_report(*keep->store, keep->principal, keep->param("id"), m,
                                   core::now().micros);
      if (!n.ok()) return keep->error(n.error());
      keep->json(202,
                 to_text(json::object{
                     {"customer_id", keep->param("id")}, {"month", m.key()}, {"messages", *n}}));
    } catch (const std::exception& e) {
      keep->error(500, fmt::format("internal error: {}", e.what()));
    }
  });
  if (!queued) {
    keep->json(429, "{\"error\":\"the server is busy writing reports; try again shortly\"}",
               {{"Retry-After", "2"}});
  }
}

void h_get_report_mail(Call& call) {
  auto on = report_mail_enabled(*call.store, call.principal, call.param("id"));
  if (!on.ok()) return call.error(on.error());
  call.json(200, to_text(json::object{{"customer_id", call.param("id")}, {"enabled", *on}}));
}

void h_set_report_mail(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  for (const auto& [k, v] : *o) {
    if (k != "enabled") {
      return call.error(400, fmt::format("member '{}' is unknown", std::string_view(k)));
    }
  }
  auto* e = o->if_contains("enabled");
  if (!e || !e->is_bool()) return call.error(400, "member 'enabled' must be true or false");
  auto st = set_report_mail(*call.store, call.principal, call.param("id"), e->as_bool());
  if (!st.ok()) return call.error(st.error());
  call.json(200,
            to_text(json::object{{"customer_id", call.param("id")}, {"enabled", e->as_bool()}}));
}

void h_ipa_statistics(Call& call) {
  IpaQuery q;
  q.from = call.req.query_param("from");
  q.to = call.req.query_param("to");
  std::string period = call.req.query_param("period");
  if (!period.empty()) q.period = period;
  std::string format = call.req.query_param("format");
  if (format.empty()) format = "json";
  if (format != "json" && format != "csv") {
    return call.error(400, fmt::format("format '{}' is neither json nor csv", format));
  }
  auto s = ipa_statistics(*call.store, call.principal, q);
  if (!s.ok()) return call.error(s.error());
  if (format == "json") return call.json(200, ipa_json(*s));
  HttpResponse r;
  r.body = ipa_csv(*s);
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  call.api->record(call, 200);
  call.respond(std::move(r));
}

}  // namespace mimamori::server
