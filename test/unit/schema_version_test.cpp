/*
 * schema_version_test.cpp: unit tests of src/core/schema_version.cpp, the
 * extension's version against the library's, and what the worker tells an
 * operator when they differ, with GoogleTest.
 */
#include "core/schema_version.h"

#include <gtest/gtest.h>

namespace
{

using schema_version::compare;
using schema_version::mismatch_advice;
using schema_version::Order;

TEST(SchemaVersion, ComparesNumberByNumber)
{
	EXPECT_EQ(compare("1.0", "1.1"), Order::older);
	EXPECT_EQ(compare("1.1", "1.0"), Order::newer);
	EXPECT_EQ(compare("1.1", "1.1"), Order::same);
	/* Not as text: 1.10 comes after 1.9, 2.0 after 1.99. */
	EXPECT_EQ(compare("1.10", "1.9"), Order::newer);
	EXPECT_EQ(compare("1.9", "1.10"), Order::older);
	EXPECT_EQ(compare("2.0", "1.99"), Order::newer);
	/* A missing part is 0. */
	EXPECT_EQ(compare("1.1", "1.1.0"), Order::same);
	EXPECT_EQ(compare("1.1.1", "1.1"), Order::newer);
	EXPECT_EQ(compare("1", "1.1"), Order::older);
	EXPECT_EQ(compare("1.01", "1.1"), Order::same);
}

TEST(SchemaVersion, WhatIsNotNumbersHasNoOrder)
{
	EXPECT_EQ(compare("1.1beta", "1.1"), Order::unordered);
	EXPECT_EQ(compare("1.1", "dev"), Order::unordered);
	EXPECT_EQ(compare("", "1.1"), Order::unordered);
	EXPECT_EQ(compare("1..1", "1.1"), Order::unordered);
	EXPECT_EQ(compare("1.1.", "1.1"), Order::unordered);
	EXPECT_EQ(compare(".1", "1.1"), Order::unordered);
	EXPECT_EQ(compare("-1.1", "1.1"), Order::unordered);
	EXPECT_EQ(compare("1.12345678901234567890", "1.1"), Order::unordered);
	/* The same text is the same version, whatever it is. */
	EXPECT_EQ(compare("dev", "dev"), Order::same);
}

TEST(SchemaVersion, AnOlderSchemaIsUpdated)
{
	EXPECT_EQ(mismatch_advice("1.0", "1.1", "jabclnd"),
	          "the jabclnd extension in database \"jabclnd\" is at version 1.0, older than "
	          "version 1.1 that this library serves: run ALTER EXTENSION jabclnd UPDATE in "
	          "database \"jabclnd\"");
}

TEST(SchemaVersion, ANewerSchemaNeedsItsLibrary)
{
	EXPECT_EQ(mismatch_advice("1.2", "1.1", "app"),
	          "the jabclnd extension in database \"app\" is at version 1.2, newer than version "
	          "1.1 that this library serves: install the jabclnd library of version 1.2 and "
	          "restart PostgreSQL");
}

TEST(SchemaVersion, AVersionWithoutOrderNamesBothWays)
{
	const std::string advice = mismatch_advice("dev", "1.1", "jabclnd");
	EXPECT_NE(advice.find("is at version dev, which this library (version 1.1) does not serve"),
	          std::string::npos)
	    << advice;
	EXPECT_NE(advice.find("ALTER EXTENSION jabclnd UPDATE"), std::string::npos) << advice;
	EXPECT_NE(advice.find("install the jabclnd library of version dev"), std::string::npos)
	    << advice;
}

} // namespace
