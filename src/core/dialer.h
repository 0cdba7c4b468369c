/*
 * dialer.h: the walk through one login's plan (core/server_plan.h), in
 * pure C++: every address of each target in turn (RFC 6120 §3.2.1), and
 * what each failure was, in words an operator can act on.
 *
 * The worker looks up the current target's addresses when
 * needs_addresses(), connects to address() when it has one, and reports
 * back; the dialer moves on. A failure that another server would not
 * cure (wrong password) is the worker's to stop on: it just does not ask
 * for the next server.
 */
#pragma once

#include "core/boundary.h"
#include "core/server_plan.h"

#include <string>
#include <vector>

class Dialer
{
  public:
	explicit Dialer(std::vector<server_plan::Target> targets);

	/* Every target and address has been tried. */
	bool finished() const { return target_index_ >= targets_.size(); }
	const server_plan::Target &target() const { return targets_[target_index_]; }
	/* The current target's addresses are not known yet. */
	bool needs_addresses() const { return !finished() && !have_addresses_; }
	/* The address to connect to now (valid when !finished() && !needs_addresses()). */
	const std::string &address() const { return addresses_[address_index_]; }

	/* The lookup of target()'s addresses found these (empty: a failure). */
	void addresses_found(const std::vector<std::string> &addresses);
	/* The lookup of target()'s addresses failed: `why` names the host itself. */
	void lookup_failed(const std::string &why);
	/* Connecting to address() failed before the login completed. */
	void attempt_failed(const std::string &why);

	/* Where the current attempt goes: "host:port (address)", or "host:port" before the lookup. */
	std::string where() const;
	/*
	 * The last failure and what comes next, for jabclnd_status() while
	 * connecting: "xmpp1.example.org:5222 (127.0.0.1): connection refused;
	 * trying xmpp2.example.org:5223".
	 */
	std::string progress() const;
	/* Every failure of this walk, for the status once finished(); at most max_length bytes. */
	std::string summary(size_t max_length) const;
	size_t failures() const { return failures_.size(); }

  private:
	void next_target();

	std::vector<server_plan::Target> targets_;
	size_t target_index_ = 0;
	bool have_addresses_ = false;
	std::vector<std::string> addresses_;
	size_t address_index_ = 0;
	std::vector<std::string> failures_;
};
