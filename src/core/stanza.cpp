/*
 * stanza.cpp: JID and XML text checks.
 *
 * The worker runs these before a row reaches libstrophe: a bad JID makes
 * the server bounce the message, but a forbidden character or broken UTF-8
 * makes it close the whole stream, which would turn one bad row into a
 * reconnect loop.
 */
#include "core/stanza.h"

#include "core/jid.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

namespace stanza
{

namespace
{

/* RFC 7622 caps every part of a JID at 1023 octets. */
const size_t JID_PART_MAX = 1023;

/*
 * Decodes one UTF-8 character at text[pos]; returns its length and stores
 * the code point, or returns 0 for an invalid or overlong sequence.
 */
size_t
decode_utf8(const std::string &text, size_t pos, uint32_t *code_point)
{
	const unsigned char first = static_cast<unsigned char>(text[pos]);
	size_t length;
	uint32_t cp;

	if (first < 0x80)
	{
		*code_point = first;
		return 1;
	}
	if ((first & 0xE0) == 0xC0)
	{
		length = 2;
		cp = first & 0x1F;
	}
	else if ((first & 0xF0) == 0xE0)
	{
		length = 3;
		cp = first & 0x0F;
	}
	else if ((first & 0xF8) == 0xF0)
	{
		length = 4;
		cp = first & 0x07;
	}
	else
		return 0;
	if (pos + length > text.size())
		return 0;
	for (size_t i = 1; i < length; i++)
	{
		const unsigned char next = static_cast<unsigned char>(text[pos + i]);
		if ((next & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (next & 0x3F);
	}
	static const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < smallest[length] || cp > 0x10FFFF)
		return 0;
	*code_point = cp;
	return length;
}

bool
xml_allows(uint32_t cp)
{
	if (cp < 0x20)
		return cp == '\t' || cp == '\n' || cp == '\r';
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return false;
	return cp != 0xFFFE && cp != 0xFFFF;
}

std::string
code_point_name(uint32_t cp)
{
	char buf[16];
	snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
	return buf;
}

/*
 * Control characters (general category Cc: U+0000-U+001F, U+007F-U+009F).
 * RFC 7622 allows none in any part of a JID: the localpart and resourcepart
 * are PRECIS classes that disallow them (RFC 8264 section 9.12), and a
 * domain name has none. XML allows tab, LF, CR, DEL and the C1 range, so
 * check_xml_text lets them through: they are refused here.
 */
bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/*
 * Why one part of a JID is unusable (empty if it is fine). `forbidden` are
 * the ASCII characters the part may not hold; `allow_space` is for the
 * resource, where spaces are legal. The part is valid UTF-8 (check_jid has
 * run check_xml_text on the whole JID first).
 */
std::string
check_part(const std::string &part, const char *part_name, const char *forbidden, bool allow_space,
           const std::string &jid, const char *what)
{
	const std::string quoted = std::string(what) + " \"" + jid + "\"";

	if (part.empty())
		return quoted + " has an empty " + part_name;
	if (part.size() > JID_PART_MAX)
		return quoted + " has a " + part_name + " longer than 1023 bytes";
	for (size_t pos = 0; pos < part.size();)
	{
		uint32_t cp = 0;
		const size_t length = decode_utf8(part, pos, &cp);
		if (length == 0)
			return quoted + " is not valid UTF-8"; /* not reached after check_xml_text */
		pos += length;
		if (is_control(cp) || (cp == ' ' && !allow_space))
			return quoted + " has a character not allowed in a " + part_name + ": '" +
			       (allow_space ? "control" : "space or control") + "'";
		if (cp < 0x80 && forbidden && std::strchr(forbidden, static_cast<char>(cp)))
			return quoted + " has a character not allowed in a " + part_name + ": '" +
			       static_cast<char>(cp) + "'";
	}
	return "";
}

/*
 * Whether `domain` is an IP-literal of RFC 3986 section 3.2.2 holding an
 * IPv6 address, e.g. [::1] or [2001:db8::1], which RFC 7622 section 3.2
 * allows as a domainpart. (IPvFuture literals are not addresses any server
 * listens on: they are refused.)
 */
bool
is_ipv6_literal(const std::string &domain)
{
	if (domain.size() < 2 || domain.front() != '[' || domain.back() != ']')
		return false;
	const std::string address = domain.substr(1, domain.size() - 2);
	in6_addr parsed;
	return address.find('\0') == std::string::npos &&
	       inet_pton(AF_INET6, address.c_str(), &parsed) == 1;
}

} // namespace

std::string
check_jid(const std::string &jid, const char *what)
{
	std::string problem = check_xml_text(jid, what);
	if (!problem.empty())
		return problem;
	if (jid.empty())
		return std::string(what) + " is empty: write the recipient as user@domain";

	const std::string quoted = std::string(what) + " \"" + jid + "\"";
	const size_t slash = jid.find('/');
	const std::string bare = jid.substr(0, slash);
	const size_t at = bare.find('@');
	const jid::Parts parts = jid::split(jid);

	if (at != std::string::npos)
	{
		if (bare.find('@', at + 1) != std::string::npos)
			return quoted + " has more than one '@'";
		problem = check_part(parts.local, "local part", "\"&'/:<>@", false, jid, what);
		if (!problem.empty())
			return problem;
	}
	if (!parts.domain.empty() && parts.domain.front() == '[')
	{
		/* An IP-literal: its ':' are the address's, not a port. */
		if (!is_ipv6_literal(parts.domain))
			return quoted + " has a domain that is not a valid IPv6 address in brackets";
	}
	else
	{
		problem = check_part(parts.domain, "domain", "\"&'/:<>@[]", false, jid, what);
		if (!problem.empty())
			return problem;
		if (parts.domain.front() == '.' || parts.domain.back() == '.' ||
		    parts.domain.find("..") != std::string::npos)
			return quoted + " has a malformed domain";
	}
	if (slash != std::string::npos)
	{
		if (parts.resource.empty())
			return quoted + " has an empty resource after '/'";
		/* Anything but controls: spaces, '/', '@' are all legal in a resource. */
		problem = check_part(parts.resource, "resource", nullptr, true, jid, what);
		if (!problem.empty())
			return problem;
	}
	return "";
}

std::string
check_xml_text(const std::string &text, const char *what)
{
	for (size_t pos = 0; pos < text.size();)
	{
		uint32_t cp = 0;
		const size_t length = decode_utf8(text, pos, &cp);
		if (length == 0)
			return std::string(what) + " is not valid UTF-8 at byte " + std::to_string(pos);
		if (!xml_allows(cp))
			return std::string(what) + " contains " + code_point_name(cp) + " at byte " +
			       std::to_string(pos) + ", a character XML does not allow";
		pos += length;
	}
	return "";
}

namespace
{

bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool
starts_with_at(const std::string &text, size_t pos, const char *prefix)
{
	return text.compare(pos, strlen(prefix), prefix) == 0;
}

/*
 * What stands at `pos`, a '<', if it is a markup XMPP forbids, or "".
 * CDATA sections are allowed (and skipped by the caller).
 */
std::string
forbidden_markup(const std::string &xml, size_t pos, const char *what)
{
	const std::string quoted = std::string(what) + " ";
	if (starts_with_at(xml, pos, "<?xml"))
		return quoted + "starts with an XML declaration (<?xml ...?>): write the <message> "
		                "element alone";
	if (starts_with_at(xml, pos, "<?"))
		return quoted + "contains a processing instruction (<?...?>), which XMPP forbids "
		                "(RFC 6120 11.1)";
	if (starts_with_at(xml, pos, "<!--"))
		return quoted + "contains an XML comment, which XMPP forbids (RFC 6120 11.1)";
	if (starts_with_at(xml, pos, "<!") && !starts_with_at(xml, pos, "<![CDATA["))
		return quoted + "contains a document type declaration (<!DOCTYPE ...>), which XMPP "
		                "forbids (RFC 6120 11.1)";
	return "";
}

} // namespace

std::string
check_single_element(const std::string &xml, const char *what)
{
	const std::string quoted = std::string(what) + " ";
	size_t pos = 0;
	while (pos < xml.size() && is_space(xml[pos]))
		pos++;
	if (pos == xml.size())
		return quoted + "is empty: write one <message> element";
	if (starts_with_at(xml, pos, "\xEF\xBB\xBF"))
		return quoted + "starts with a byte order mark (U+FEFF): write the <message> element alone";
	if (xml[pos] != '<')
		return quoted + "does not start with an element: write one <message> element";

	int depth = 0;
	bool seen_element = false;
	while (pos < xml.size())
	{
		if (seen_element && depth == 0)
		{
			/* The element has ended: only white space may follow. */
			if (is_space(xml[pos]))
			{
				pos++;
				continue;
			}
			if (xml[pos] == '<')
			{
				const std::string problem = forbidden_markup(xml, pos, what);
				if (!problem.empty())
					return problem;
				if (starts_with_at(xml, pos, "</"))
					return quoted + "has an end tag after its element that closes nothing";
				if (starts_with_at(xml, pos, "<![CDATA["))
					return quoted + "has text after its element: write one <message> element alone";
				return quoted + "holds more than one element: write one <message> stanza per "
				                "row (libstrophe would send the first and drop the rest)";
			}
			return quoted + "has text after its element: write one <message> element alone";
		}
		if (xml[pos] != '<')
		{
			pos++;
			continue;
		}
		const std::string problem = forbidden_markup(xml, pos, what);
		if (!problem.empty())
			return problem;
		if (starts_with_at(xml, pos, "<![CDATA["))
		{
			const size_t end = xml.find("]]>", pos);
			if (end == std::string::npos)
				return ""; /* unterminated: the parser says so */
			pos = end + 3;
			continue;
		}
		const bool closing = starts_with_at(xml, pos, "</");
		/* The end of the tag, past quoted attribute values (which may hold '>'). */
		char quote = 0;
		size_t end = pos + 1;
		for (; end < xml.size(); end++)
		{
			if (quote)
			{
				if (xml[end] == quote)
					quote = 0;
			}
			else if (xml[end] == '"' || xml[end] == '\'')
				quote = xml[end];
			else if (xml[end] == '>')
				break;
		}
		if (end == xml.size())
			return ""; /* unterminated: the parser says so */
		if (closing)
			depth--;
		else if (xml[end - 1] != '/')
			depth++;
		seen_element = true;
		if (depth < 0)
			return ""; /* an end tag without a start: the parser says so */
		pos = end + 1;
	}
	return "";
}

std::string
check_client_namespace(const char *ns, const char *what)
{
	if (!ns || strcmp(ns, "jabber:client") == 0)
		return "";
	return std::string(what) + " is in namespace \"" + ns +
	       "\"; a client sends stanzas in jabber:client (write no xmlns, or "
	       "xmlns='jabber:client'): the server would close the stream";
}

std::string
check_message_type(const std::string &type)
{
	if (type == "chat" || type == "normal" || type == "headline" || type == "groupchat")
		return "";
	return "message_type \"" + type +
	       "\" is not a message type: use chat, normal, headline or groupchat";
}

std::string
check_message_parts(const std::string &to, const std::string &type, const std::string *subject,
                    const std::string *body)
{
	std::string problem = check_jid(to, "message_to");
	if (problem.empty())
		problem = check_message_type(type);
	if (problem.empty() && subject)
		problem = check_xml_text(*subject, "message_subject");
	if (problem.empty() && body)
		problem = check_xml_text(*body, "message_body");
	if (problem.empty() && !subject && !body)
		problem = "the row has neither message_body nor message_subject: nothing to send";
	return problem;
}

std::string
row_stanza_id(int64_t row_id, int64_t inserted_us)
{
	return "jabclnd-tx-" + std::to_string(row_id) + "-" + std::to_string(inserted_us);
}

} // namespace stanza
