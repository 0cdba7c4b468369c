/*
 * schema_version.cpp: see schema_version.h.
 */
#include "core/schema_version.h"

#include <algorithm>
#include <vector>

namespace schema_version
{

namespace
{

/*
 * The numbers of a dot-separated version; false if it is anything else
 * (empty, an empty part, a part that is not all digits). A part too long
 * for the count is not a version anyone ships: unordered too.
 */
bool
parse(const std::string &version, std::vector<unsigned long> *numbers)
{
	std::string part;
	numbers->clear();
	for (size_t i = 0; i <= version.size(); i++)
	{
		if (i == version.size() || version[i] == '.')
		{
			if (part.empty() || part.size() > 9)
				return false;
			numbers->push_back(std::stoul(part));
			part.clear();
		}
		else if (version[i] >= '0' && version[i] <= '9')
			part += version[i];
		else
			return false;
	}
	return true;
}

} // namespace

Order
compare(const std::string &a, const std::string &b)
{
	std::vector<unsigned long> x, y;
	if (!parse(a, &x) || !parse(b, &y))
		return a == b ? Order::same : Order::unordered;
	/* Missing parts count as 0: 1.1 is 1.1.0. */
	const size_t parts = std::max(x.size(), y.size());
	x.resize(parts, 0);
	y.resize(parts, 0);
	for (size_t i = 0; i < parts; i++)
	{
		if (x[i] < y[i])
			return Order::older;
		if (x[i] > y[i])
			return Order::newer;
	}
	return Order::same;
}

std::string
mismatch_advice(const std::string &installed, const std::string &served,
                const std::string &database)
{
	const std::string where =
	    "the jabclnd extension in database \"" + database + "\" is at version " + installed;
	const std::string update =
	    "run ALTER EXTENSION jabclnd UPDATE in database \"" + database + "\"";
	const std::string library =
	    "install the jabclnd library of version " + installed + " and restart PostgreSQL";
	switch (compare(installed, served))
	{
	case Order::older:
		return where + ", older than version " + served + " that this library serves: " + update;
	case Order::newer:
		return where + ", newer than version " + served + " that this library serves: " + library;
	case Order::same:
	case Order::unordered:
		break;
	}
	return where + ", which this library (version " + served + ") does not serve: " + update +
	       " if that leads to version " + served + ", or " + library;
}

} // namespace schema_version
