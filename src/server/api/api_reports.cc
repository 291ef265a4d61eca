// The monthly customer report as a PDF download. Rendering takes tens of milliseconds: it runs on
// the report pool, never on an HTTP thread.

#include "api/json_body.h"
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
