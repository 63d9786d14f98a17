package imsguard.lint_test

test_unknown_statement_key_sid if {
	s := object.union(stmt(0), {"keys": ["Sid", "Effect", "Action"]})
	inp := doc({"statements": [s], "has": {"statement_extra_key": true}})
	some f in data.imsguard.lint.findings with input as inp
	f.code == "E-UNKNOWN-KEY"
	f.pointer == "/Statement/0/Sid"
	contains(f.fix, "5.0")
}

test_sid_allowed_in_identity_policies if {
	s := object.union(stmt(0), {"keys": ["Sid", "Effect", "Action"]})
	not "E-UNKNOWN-KEY" in codes(doc({"family": "identity", "statements": [s], "has": {"statement_extra_key": true}}))
}

test_effect_missing if {
	s := object.union(with_f(0, {"Action": stmt(0).f.Action}), {"effect": ""})
	codes(doc({"statements": [s], "has": {"effect_irregular": true}})) == {"E-EFFECT-MISSING"}
}

test_effect_value_and_case if {
	bad := object.union(with_f(0, {"Effect": {"kind": "string", "pointer": "/Statement/0/Effect", "value": "Permit"}}), {"effect": ""})
	"E-EFFECT-VALUE" in codes(doc({"statements": [bad], "has": {"effect_irregular": true}}))
	lowercase := with_f(0, {"Effect": {"kind": "string", "pointer": "/Statement/0/Effect", "value": "allow"}})
	codes(doc({"statements": [lowercase], "has": {"effect_irregular": true}})) == {"W-EFFECT-CASE"}
}

test_action_missing_string_and_empty if {
	missing := with_f(0, {"Effect": stmt(0).f.Effect})
	"E-ACTION-TYPE" in codes(doc({"statements": [missing], "has": {"action_irregular": true}}))
	scalar := with_f(0, {"Effect": stmt(0).f.Effect, "Action": {"kind": "string", "pointer": "/Statement/0/Action"}})
	"E-ACTION-TYPE" in codes(doc({"statements": [scalar], "has": {"action_irregular": true}}))
	empty := with_f(0, {"Effect": stmt(0).f.Effect, "Action": {"kind": "array", "pointer": "/Statement/0/Action", "count": 0}})
	"E-ACTION-COUNT" in codes(doc({"statements": [empty], "has": {"action_irregular": true}}))
}

test_action_count_over_limit if {
	s := with_f(0, {"Effect": stmt(0).f.Effect, "Action": {"kind": "array", "pointer": "/Statement/0/Action", "count": 101}})
	"E-ACTION-COUNT" in codes(doc({"statements": [s], "max": {"actions": 101}, "over": {"actions": true}}))
}

test_notaction if {
	s := with_f(0, {"Effect": stmt(0).f.Effect, "NotAction": {"kind": "array", "pointer": "/Statement/0/NotAction", "count": 1}})
	"E-ACTION-NOTACTION" in codes(doc({"statements": [s], "has": {"action_irregular": true}}))
	not "E-ACTION-NOTACTION" in codes(doc({"family": "identity", "statements": [s], "has": {"action_irregular": true}}))
	both := with_f(0, {"Effect": stmt(0).f.Effect, "Action": stmt(0).f.Action, "NotAction": {"kind": "array", "pointer": "/Statement/0/NotAction", "count": 1}})
	"E-ACTION-NOTACTION" in codes(doc({"family": "identity", "statements": [both], "has": {"action_irregular": true}}))
}
