/*
 * xmpp_time.h: reading XEP-0082 date-times (the stamps of XEP-0203
 * delays), in pure C++.
 *
 * The reverse of rooms::xep0082() (core/room.h), which writes them for
 * <history since='…'/>. A stamp read here becomes a message's sent time,
 * compared with the times stored in xmpp_rx_queue, so anything that is not
 * exactly a date-time is refused rather than guessed at.
 */
#pragma once

#include "core/boundary.h"

#include <cstdint>
#include <string>

namespace xmpp_time
{

/*
 * Microseconds since 2000-01-01 00:00:00 UTC: PostgreSQL's TimestampTz,
 * and the same type as rooms::Timestamp.
 */
using Timestamp = int64_t;

/*
 * Reads an XEP-0082 DateTime, CCYY-MM-DDThh:mm:ss[.s+](Z|+hh:mm|-hh:mm),
 * e.g. 2024-05-01T12:34:56Z or 2024-05-01T14:34:56.123+02:00, into `*t`
 * (UTC). Fractions finer than a microsecond are cut off. Returns false,
 * leaving `*t` alone, for anything else: another layout (the date or the
 * time alone, XEP-0091's 20240501T12:34:56, lower-case t or z, no zone),
 * a field out of range (month 13, February 30 outside a leap year, hour
 * 24, minute 60, second 61, an offset of 24 hours or more), a year
 * outside 0001-9999, surrounding white space.
 *
 * A leap second (ss = 60) is accepted, as RFC 3339 allows, and read as
 * the first instant of the next minute.
 */
bool parse_xep0082(const std::string &text, Timestamp *t);

} // namespace xmpp_time
