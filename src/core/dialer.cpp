/*
 * dialer.cpp: one login's walk through targets and addresses (see dialer.h).
 */
#include "core/boundary.h"
#include "core/dialer.h"

#include <utility>

Dialer::Dialer(std::vector<server_plan::Target> targets) : targets_(std::move(targets)) {}

void
Dialer::next_target()
{
	target_index_++;
	have_addresses_ = false;
	addresses_.clear();
	address_index_ = 0;
}

void
Dialer::addresses_found(const std::vector<std::string> &addresses)
{
	if (finished())
		return;
	if (addresses.empty())
	{
		lookup_failed("could not look up the address of " + target().host + ": no address");
		return;
	}
	addresses_ = addresses;
	address_index_ = 0;
	have_addresses_ = true;
}

void
Dialer::lookup_failed(const std::string &why)
{
	if (finished())
		return;
	failures_.push_back(why);
	next_target();
}

void
Dialer::attempt_failed(const std::string &why)
{
	if (finished())
		return;
	failures_.push_back(where() + ": " + why);
	if (!have_addresses_ || ++address_index_ >= addresses_.size())
		next_target();
}

std::string
Dialer::where() const
{
	if (finished())
		return "";
	std::string text = target().text();
	if (have_addresses_ && address() != target().host)
		text += " (" + address() + ")";
	if (target().direct_tls)
		text += ", direct TLS";
	return text;
}

std::string
Dialer::progress() const
{
	std::string text = failures_.empty() ? std::string() : failures_.back();
	if (!finished())
		text += (text.empty() ? "trying " : "; trying ") + where();
	return text;
}

std::string
Dialer::summary(size_t max_length) const
{
	if (failures_.size() == 1)
		return failures_[0].substr(0, max_length);
	std::string text =
	    "no server could be reached (" + std::to_string(failures_.size()) + " attempts): ";
	for (size_t i = 0; i < failures_.size(); i++)
	{
		const std::string more = "; and " + std::to_string(failures_.size() - i) + " more";
		const std::string next = (i > 0 ? "; " : "") + failures_[i];
		/* Whole failures only, with room left to say how many did not fit. */
		if (text.size() + next.size() + more.size() > max_length)
		{
			text += more;
			break;
		}
		text += next;
	}
	return text.substr(0, max_length);
}
