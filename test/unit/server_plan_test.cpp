/*
 * server_plan_test.cpp: unit tests of src/core/server_plan.cpp, which
 * servers a login tries and in which order (RFC 6120 §3.2, RFC 2782,
 * XEP-0368), with GoogleTest.
 *
 * RFC 2782's weighted choice takes a random number in [0, 1): the tests
 * feed fixed sequences, so each order is exact, and count the orders of
 * many draws to check the weights' proportions.
 */
#include "core/server_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using server_plan::Plan;
using server_plan::SrvAnswer;
using server_plan::SrvRecord;
using server_plan::Target;
using server_plan::TlsPolicy;

namespace
{

/* A Random that returns `values` in turn (then the last one again). */
server_plan::Random
sequence(std::vector<double> values)
{
	auto index = std::make_shared<size_t>(0);
	return [values, index]()
	{
		const double value = values[std::min(*index, values.size() - 1)];
		(*index)++;
		return value;
	};
}

SrvRecord
record(const std::string &target, int port, int priority, int weight)
{
	SrvRecord r;
	r.target = target;
	r.port = port;
	r.priority = priority;
	r.weight = weight;
	return r;
}

SrvAnswer
answer(const std::string &name, bool direct_tls, std::vector<SrvRecord> records,
       const std::string &error = "")
{
	SrvAnswer a;
	a.name = name;
	a.direct_tls = direct_tls;
	a.records = std::move(records);
	a.error = error;
	return a;
}

std::vector<std::string>
targets_of(const std::vector<SrvRecord> &records)
{
	std::vector<std::string> out;
	for (const SrvRecord &r : records)
		out.push_back(r.target);
	return out;
}

std::vector<std::string>
texts(const Plan &plan)
{
	std::vector<std::string> out;
	for (const Target &t : plan.targets)
		out.push_back(t.text() + (t.direct_tls ? " tls" : ""));
	return out;
}

const char *const STARTTLS = "_xmpp-client._tcp.example.org";
const char *const DIRECT = "_xmpps-client._tcp.example.org";

} // namespace

TEST(OrderRecords, LowerPriorityFirstWhateverTheWeights)
{
	const std::vector<SrvRecord> records = {record("c", 1, 30, 100), record("a", 1, 10, 0),
	                                        record("b", 1, 20, 65535)};
	EXPECT_EQ(targets_of(server_plan::order_records(records, sequence({0.99}))),
	          (std::vector<std::string>{"a", "b", "c"}));
}

TEST(OrderRecords, WeightedChoiceWithinAPriority)
{
	/* Running sums 10, 30 (weights 10, 20): total 30, picks 0..30. */
	const std::vector<SrvRecord> records = {record("light", 1, 5, 10), record("heavy", 1, 5, 20)};
	/* 0.2 * 31 = 6.2 -> 6 <= 10: light first. */
	EXPECT_EQ(targets_of(server_plan::order_records(records, sequence({0.2}))),
	          (std::vector<std::string>{"light", "heavy"}));
	/* 0.5 * 31 = 15.5 -> 15 > 10: heavy first. */
	EXPECT_EQ(targets_of(server_plan::order_records(records, sequence({0.5}))),
	          (std::vector<std::string>{"heavy", "light"}));
}

TEST(OrderRecords, WeightsGiveTheProportionsOfFirstChoices)
{
	const std::vector<SrvRecord> records = {record("a", 1, 0, 10), record("b", 1, 0, 30),
	                                        record("c", 1, 0, 60)};
	std::map<std::string, int> first;
	const int draws = 10000;
	for (int i = 0; i < draws; i++)
	{
		const double value = (i + 0.5) / draws; /* evenly over [0, 1) */
		first[server_plan::order_records(records, sequence({value}))[0].target]++;
	}
	/* Picks 0..100: a takes 0..10 (11 of 101), b 11..40 (30), c 41..100 (60). */
	EXPECT_NEAR(first["a"], draws * 11 / 101, 2);
	EXPECT_NEAR(first["b"], draws * 30 / 101, 2);
	EXPECT_NEAR(first["c"], draws * 60 / 101, 2);
}

TEST(OrderRecords, WeightZeroComesFirstOnlyWhenThePickIsZero)
{
	const std::vector<SrvRecord> records = {record("weighted", 1, 0, 50), record("zero", 1, 0, 0)};
	/* Picks 0..50: 0 is the weight-0 record's (0.0 * 51 = 0), 0.05 * 51 = 2 the other's. */
	EXPECT_EQ(server_plan::order_records(records, sequence({0.0}))[0].target, "zero");
	EXPECT_EQ(server_plan::order_records(records, sequence({0.05}))[0].target, "weighted");
}

TEST(OrderRecords, EveryRecordAppearsOnceEvenWithRandomNearOne)
{
	const std::vector<SrvRecord> records = {record("a", 1, 0, 0), record("b", 1, 0, 0),
	                                        record("c", 1, 1, 1), record("d", 1, 1, 1)};
	const std::vector<SrvRecord> ordered =
	    server_plan::order_records(records, sequence({0.999999}));
	ASSERT_EQ(ordered.size(), 4u);
	EXPECT_EQ(ordered[0].priority, 0);
	EXPECT_EQ(ordered[1].priority, 0);
	EXPECT_EQ(ordered[2].priority, 1);
	EXPECT_EQ(ordered[3].priority, 1);
	EXPECT_NE(ordered[0].target, ordered[1].target);
	EXPECT_NE(ordered[2].target, ordered[3].target);
}

TEST(SrvQuestions, FollowJabclndTls)
{
	auto names = [](TlsPolicy policy)
	{
		std::vector<std::string> out;
		for (const SrvAnswer &q : server_plan::srv_questions("example.org", policy))
			out.push_back(q.name + (q.direct_tls ? " tls" : ""));
		return out;
	};
	EXPECT_EQ(names(TlsPolicy::starttls_or_direct),
	          (std::vector<std::string>{std::string(DIRECT) + " tls", STARTTLS}));
	EXPECT_EQ(names(TlsPolicy::direct_only),
	          (std::vector<std::string>{std::string(DIRECT) + " tls"}));
	EXPECT_EQ(names(TlsPolicy::plain_only), (std::vector<std::string>{STARTTLS}));
}

TEST(PlanFromSrv, BothServicesMergeInOneOrder)
{
	const std::vector<SrvAnswer> answers = {
	    answer(DIRECT, true, {record("tls.example.org.", 5223, 5, 0)}),
	    answer(
	        STARTTLS, false,
	        {record("xmpp2.example.org.", 5222, 10, 0), record("xmpp1.example.org.", 5222, 0, 0)}),
	};
	const Plan plan = server_plan::plan_from_srv("example.org", answers, 5222,
	                                             TlsPolicy::starttls_or_direct, sequence({0.5}));
	EXPECT_EQ(texts(plan),
	          (std::vector<std::string>{"xmpp1.example.org:5222", "tls.example.org:5223 tls",
	                                    "xmpp2.example.org:5222"}));
	EXPECT_EQ(plan.refusal, "");
	EXPECT_NE(plan.origin.find(STARTTLS), std::string::npos);
	EXPECT_NE(plan.origin.find(DIRECT), std::string::npos);
}

TEST(PlanFromSrv, NoRecordsFallsBackToTheDomainOnTheAccountPort)
{
	const std::vector<SrvAnswer> answers = {answer(DIRECT, true, {}), answer(STARTTLS, false, {})};
	const Plan plan = server_plan::plan_from_srv("example.org", answers, 5222,
	                                             TlsPolicy::starttls_or_direct, sequence({0.5}));
	EXPECT_EQ(texts(plan), (std::vector<std::string>{"example.org:5222"}));
	const Plan direct = server_plan::plan_from_srv("example.org", {answer(DIRECT, true, {})}, 5223,
	                                               TlsPolicy::direct_only, sequence({0.5}));
	EXPECT_EQ(texts(direct), (std::vector<std::string>{"example.org:5223 tls"}));
}

TEST(PlanFromSrv, AFailedLookupFallsBackLikeNoRecords)
{
	const std::vector<SrvAnswer> answers = {
	    answer(DIRECT, true, {}, "could not look up _xmpps-client._tcp.example.org: Timeout"),
	    answer(STARTTLS, false, {}, "could not look up _xmpp-client._tcp.example.org: Timeout")};
	const Plan plan = server_plan::plan_from_srv("example.org", answers, 5222,
	                                             TlsPolicy::starttls_or_direct, sequence({0.5}));
	EXPECT_EQ(texts(plan), (std::vector<std::string>{"example.org:5222"}));
}

TEST(PlanFromSrv, ASingleDotTargetRefusesWithoutFallback)
{
	for (const std::string dot : {".", ""})
	{
		const std::vector<SrvAnswer> answers = {answer(DIRECT, true, {}),
		                                        answer(STARTTLS, false, {record(dot, 0, 0, 0)})};
		const Plan plan = server_plan::plan_from_srv(
		    "example.org", answers, 5222, TlsPolicy::starttls_or_direct, sequence({0.5}));
		EXPECT_TRUE(plan.targets.empty()) << "target '" << dot << "'";
		EXPECT_NE(plan.refusal.find("example.org offers no XMPP service"), std::string::npos)
		    << plan.refusal;
		EXPECT_NE(plan.refusal.find(STARTTLS), std::string::npos) << plan.refusal;
		EXPECT_NE(plan.refusal.find("srv_host"), std::string::npos) << plan.refusal;
	}
}

TEST(PlanFromSrv, ADotForDirectTlsLeavesStarttlsAndItsFallback)
{
	/* _xmpps-client says "no direct TLS here"; the STARTTLS fallback still stands. */
	const std::vector<SrvAnswer> answers = {answer(DIRECT, true, {record(".", 0, 0, 0)}),
	                                        answer(STARTTLS, false, {})};
	const Plan plan = server_plan::plan_from_srv("example.org", answers, 5222,
	                                             TlsPolicy::starttls_or_direct, sequence({0.5}));
	EXPECT_EQ(texts(plan), (std::vector<std::string>{"example.org:5222"}));
	/* But with jabclnd.tls = direct, that record is the refusal. */
	const Plan direct =
	    server_plan::plan_from_srv("example.org", {answer(DIRECT, true, {record(".", 0, 0, 0)})},
	                               5222, TlsPolicy::direct_only, sequence({0.5}));
	EXPECT_TRUE(direct.targets.empty());
	EXPECT_NE(direct.refusal.find(DIRECT), std::string::npos) << direct.refusal;
}

TEST(PlanFromSrv, ADotTargetAmongOthersIsSkipped)
{
	const std::vector<SrvAnswer> answers = {
	    answer(STARTTLS, false, {record(".", 0, 0, 0), record("xmpp.example.org", 5222, 1, 0)})};
	const Plan plan = server_plan::plan_from_srv("example.org", answers, 5222,
	                                             TlsPolicy::plain_only, sequence({0.5}));
	EXPECT_EQ(texts(plan), (std::vector<std::string>{"xmpp.example.org:5222"}));
}

TEST(PlanFromSrv, AStarttlsDotWithUsableDirectRecordsUsesThem)
{
	const std::vector<SrvAnswer> answers = {
	    answer(DIRECT, true, {record("tls.example.org", 5223, 0, 0)}),
	    answer(STARTTLS, false, {record(".", 0, 0, 0)})};
	const Plan plan = server_plan::plan_from_srv("example.org", answers, 5222,
	                                             TlsPolicy::starttls_or_direct, sequence({0.5}));
	EXPECT_EQ(texts(plan), (std::vector<std::string>{"tls.example.org:5223 tls"}));
}

TEST(PlanFromSrv, TheSameTargetInBothServicesIsTriedOncePerTlsMode)
{
	const std::vector<SrvAnswer> answers = {
	    answer(STARTTLS, false,
	           {record("xmpp.example.org", 5222, 0, 0), record("xmpp.example.org.", 5222, 0, 0)})};
	const Plan plan = server_plan::plan_from_srv("example.org", answers, 5222,
	                                             TlsPolicy::plain_only, sequence({0.5}));
	EXPECT_EQ(texts(plan), (std::vector<std::string>{"xmpp.example.org:5222"}));
}

TEST(PlanFromHost, HostPortAndIpv6Forms)
{
	EXPECT_EQ(
	    texts(server_plan::plan_from_host("xmpp.example.org", 5222, TlsPolicy::starttls_or_direct)),
	    (std::vector<std::string>{"xmpp.example.org:5222"}));
	EXPECT_EQ(texts(server_plan::plan_from_host("xmpp.example.org:5269", 5222,
	                                            TlsPolicy::starttls_or_direct)),
	          (std::vector<std::string>{"xmpp.example.org:5269"}));
	EXPECT_EQ(
	    texts(server_plan::plan_from_host("2001:db8::1", 5222, TlsPolicy::starttls_or_direct)),
	    (std::vector<std::string>{"[2001:db8::1]:5222"}));
	EXPECT_EQ(
	    texts(server_plan::plan_from_host("[2001:db8::1]:5223", 5222, TlsPolicy::direct_only)),
	    (std::vector<std::string>{"[2001:db8::1]:5223 tls"}));
	EXPECT_EQ(texts(server_plan::plan_from_host("127.0.0.1", 40000, TlsPolicy::plain_only)),
	          (std::vector<std::string>{"127.0.0.1:40000"}));
}

TEST(PlanFromHost, MalformedHostsAreRefusedWithTheReason)
{
	for (const std::string bad :
	     {"host:0", "host:70000", "host:x", "a:b:c", "[::1", "[nope]:5222", "[::1]5222", ":5222"})
	{
		const Plan plan = server_plan::plan_from_host(bad, 5222, TlsPolicy::starttls_or_direct);
		EXPECT_TRUE(plan.targets.empty()) << bad;
		EXPECT_NE(plan.refusal.find("srv_host '" + bad + "'"), std::string::npos) << plan.refusal;
	}
}

TEST(ParseDnsServer, AddressesWithAndWithoutPorts)
{
	std::string address;
	int port = 0;
	EXPECT_EQ(server_plan::parse_dns_server("192.0.2.53", &address, &port), "");
	EXPECT_EQ(address, "192.0.2.53");
	EXPECT_EQ(port, 53);
	EXPECT_EQ(server_plan::parse_dns_server("127.0.0.1:5353", &address, &port), "");
	EXPECT_EQ(address, "127.0.0.1");
	EXPECT_EQ(port, 5353);
	EXPECT_EQ(server_plan::parse_dns_server("::1", &address, &port), "");
	EXPECT_EQ(address, "::1");
	EXPECT_EQ(port, 53);
	EXPECT_EQ(server_plan::parse_dns_server("[::1]:5353", &address, &port), "");
	EXPECT_EQ(address, "::1");
	EXPECT_EQ(port, 5353);
}

TEST(ParseDnsServer, NamesAndBadPortsAreRefused)
{
	std::string address;
	int port = 0;
	EXPECT_NE(server_plan::parse_dns_server("dns.example.org", &address, &port)
	              .find("not an IPv4 or IPv6 address"),
	          std::string::npos);
	EXPECT_NE(server_plan::parse_dns_server("127.0.0.1:99999", &address, &port), "");
	EXPECT_NE(server_plan::parse_dns_server("127.0.0.1:", &address, &port), "");
}
