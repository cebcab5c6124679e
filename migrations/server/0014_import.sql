-- The import through the API (the admin console's upload) runs in the
-- organization's row-level-security scope, where other organizations'
-- users cannot be seen; usernames are unique across all of them. This
-- function answers, for each (username, employee_id) of a staff file, only
-- whether the username belongs to another account than that employee of
-- this organization — what a 409 on create already tells — and nothing
-- about who holds it.
CREATE FUNCTION tend_usernames_taken(p_organization_id bigint, p_usernames text[], p_employee_ids text[])
RETURNS TABLE (username text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT DISTINCT t.username
    FROM unnest(p_usernames, p_employee_ids) AS t (username, employee_id)
    JOIN users u ON u.username = t.username
    WHERE u.organization_id <> p_organization_id OR u.employee_id <> t.employee_id
$$;

REVOKE ALL ON FUNCTION tend_usernames_taken(bigint, text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tend_usernames_taken(bigint, text[], text[]) TO tend_app;
