/*
 * jid.cpp: taking JIDs apart (see jid.h).
 */
#include "core/jid.h"

namespace jid
{

std::string
lower_ascii(std::string text)
{
	for (char &c : text)
		if (c >= 'A' && c <= 'Z')
			c = static_cast<char>(c - 'A' + 'a');
	return text;
}

Parts
split(const std::string &jid)
{
	Parts parts;
	const size_t slash = jid.find('/');
	const std::string bare_jid = jid.substr(0, slash);
	const size_t at = bare_jid.find('@');

	if (slash != std::string::npos)
		parts.resource = jid.substr(slash + 1);
	if (at != std::string::npos)
	{
		parts.local = bare_jid.substr(0, at);
		parts.domain = bare_jid.substr(at + 1);
	}
	else
		parts.domain = bare_jid;
	parts.domain = lower_ascii(parts.domain);
	return parts;
}

std::string
bare(const std::string &jid)
{
	return jid.substr(0, jid.find('/'));
}

std::string
bare_key(const std::string &jid)
{
	return lower_ascii(bare(jid));
}

std::string
resource(const std::string &jid)
{
	const size_t slash = jid.find('/');
	return slash == std::string::npos ? "" : jid.substr(slash + 1);
}

bool
is_own_server(const std::string &from, const std::string &own_jid)
{
	if (from.empty())
		return true;
	const std::string sender = lower_ascii(from);
	return sender == split(own_jid).domain || sender == bare_key(own_jid);
}

bool
speaks_for(const std::string &from, const std::string &recipient)
{
	if (from.empty() || recipient.empty())
		return false;
	if (bare_key(from) == bare_key(recipient))
		return true;
	return lower_ascii(from) == split(recipient).domain;
}

} // namespace jid
