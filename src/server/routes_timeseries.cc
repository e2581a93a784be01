// TimeSeries routes: writing points (one batch = one transaction), the latest or as-of sample of a
// series, a range of points and bucketed aggregates. Tags are a JSON object in the body or the
// `tags` query parameter. Results are the CLI's `dotdo ts` JSON.
#include "dotdo/clock.h"
#include "dotdo/timeseries.h"
#include "server/server_internal.h"

namespace dotdo::internal {
namespace {

const std::string kSeries = std::string(kNsPrefix) + "/ts/([^/]+)";
constexpr int64_t kMaxRangePoints = 100000;

Result<TimeSeriesTags> TagsFrom(const Json& j) {
  TimeSeriesTags tags;
  if (j.is_null()) return tags;
  if (!j.is_object()) return InvalidArgumentError("tags must be a JSON object of strings");
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return InvalidArgumentError("tag '" + k + "' must be a string");
    tags[k] = v.get<std::string>();
  }
  return tags;
}

Result<TimeSeriesTags> TagsParam(const ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json j, r.JsonParam("tags", Json(nullptr)));
  return TagsFrom(j);
}

Json SampleJson(const TimeSample& s) { return Json{{"ts", s.ts}, {"time", FormatIso8601(s.ts)}, {"value", s.value}}; }

// {"points": [{"ts", "value", "tags"?}, ...], "tags"?: {...}} for the series in the path.
Result<Json> Put(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  if (!b.contains("points") || !b["points"].is_array()) return InvalidArgumentError("the body must be {\"points\": [...]}");
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesTags common, TagsFrom(b.value("tags", Json(nullptr))));
  std::vector<TimeSeriesPoint> points;
  for (const auto& p : b["points"]) {
    if (!p.is_object() || !p.contains("ts") || !p["ts"].is_number_integer() || !p.contains("value") ||
        !p["value"].is_number())
      return InvalidArgumentError("a point is {\"ts\": <ms>, \"value\": <number>, \"tags\"?: {...}}");
    TimeSeriesPoint point{.key = r.Capture(2), .tags = common, .ts = p["ts"].get<int64_t>(), .value = p["value"].get<double>()};
    if (p.contains("tags")) {
      DOTDO_ASSIGN_OR_RETURN(point.tags, TagsFrom(p["tags"]));
    }
    points.push_back(std::move(point));
  }
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore ts, r.ns->TimeSeries());
  DOTDO_ASSIGN_OR_RETURN(int64_t n, ts.PutBatch(points));
  return Json{{"key", r.Capture(2)}, {"written", n}};
}

Result<Json> Latest(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesTags tags, TagsParam(r));
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore ts, r.ns->TimeSeries());
  if (r.http.has_param("at")) {
    DOTDO_ASSIGN_OR_RETURN(int64_t at, ParseTimeParam(r.Param("at"), "at"));
    DOTDO_ASSIGN_OR_RETURN(TimeSample s, ts.GetAsOf(r.Capture(2), at, tags));
    return SampleJson(s);
  }
  DOTDO_ASSIGN_OR_RETURN(TimeSample s, ts.Get(r.Capture(2), tags));
  return SampleJson(s);
}

Result<std::pair<int64_t, int64_t>> Window(const ApiRequest& r) {
  int64_t start = kMinTimestampMs, end = kMaxTimestampMs + 1;
  if (r.http.has_param("start")) {
    DOTDO_ASSIGN_OR_RETURN(start, ParseTimeParam(r.Param("start"), "start"));
  }
  if (r.http.has_param("end")) {
    DOTDO_ASSIGN_OR_RETURN(end, ParseTimeParam(r.Param("end"), "end"));
  }
  return std::pair{start, end};
}

Result<Json> Range(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesTags tags, TagsParam(r));
  DOTDO_ASSIGN_OR_RETURN(auto window, Window(r));
  DOTDO_ASSIGN_OR_RETURN(int64_t limit, r.IntParam("limit", 10000));
  if (limit < 1 || limit > kMaxRangePoints) return InvalidArgumentError("limit must be 1..100000");
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore ts, r.ns->TimeSeries());
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesRange range, ts.Range(r.Capture(2), {window.first, window.second}, tags));
  Json items = Json::array();
  bool more = false;
  while (true) {
    DOTDO_ASSIGN_OR_RETURN(bool next, range.Next());
    if (!next) break;
    if (static_cast<int64_t>(items.size()) == limit) {
      more = true;
      break;
    }
    items.push_back(SampleJson(range.sample()));
  }
  return Json{{"key", r.Capture(2)}, {"points", std::move(items)}, {"truncated", more}};
}

Result<Json> Aggregate(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesTags tags, TagsParam(r));
  DOTDO_ASSIGN_OR_RETURN(auto window, Window(r));
  TimeSeriesAggregateOptions o{.start = window.first, .end = window.second};
  DOTDO_ASSIGN_OR_RETURN(o.bucket_ms, r.OptionalIntParam("bucket_ms"));
  if (r.http.has_param("metrics")) o.metrics = r.ListParam("metrics");
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore ts, r.ns->TimeSeries());
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesAggregate agg, ts.Aggregate(r.Capture(2), o, tags));
  return TimeSeriesAggregateToJson(agg);
}

}  // namespace

void InstallTimeSeriesRoutes(RouteTable& t) {
  t.Add({.method = "POST", .pattern = kSeries + "/points", .role = TokenRole::kWrite, .body = BodyKind::kJson,
         .create_ns = true, .success_status = 201, .handler = Put});
  t.Add({.method = "GET", .pattern = kSeries + "/latest", .handler = Latest});
  t.Add({.method = "GET", .pattern = kSeries + "/points", .handler = Range});
  t.Add({.method = "GET", .pattern = kSeries + "/aggregate", .handler = Aggregate});
}

}  // namespace dotdo::internal
