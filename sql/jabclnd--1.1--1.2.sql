/*
 * jabclnd 1.1 -> 1.2: running it for a year (retention, retries, metrics,
 * and what sending costs the database).
 *
 * jabclnd ships one install script, jabclnd--1.0.sql, frozen as released,
 * and an update script per version after it. CREATE EXTENSION jabclnd
 * installs 1.0 and runs the update scripts in order (PostgreSQL finds the
 * path), and ALTER EXTENSION jabclnd UPDATE runs the same scripts on an
 * older installation: a fresh install and an updated one are made by the
 * same statements, so they cannot drift apart. test/e2e/test_upgrade.py
 * still compares the two object by object, with rows in every table.
 *
 * A released update script is frozen too: a change is a new version.
 *
 * Everything this script calls is schema-qualified (pg_catalog. or
 * @extschema@.), as in jabclnd--1.0.sql. It has no install guard: it only
 * changes an installation that exists, wherever it is.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION jabclnd UPDATE" to load this file. \quit
