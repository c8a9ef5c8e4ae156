"""One-key emergency alarms (issue 25): an area of the orders service. An alarm is not an order and
needs no voucher; an order can be made from it afterwards.

- `raising.py`: a press (the elder's button, a home device, the desk) raises the elder's one open
  alarm or joins it; the nearest on-duty caregivers of the elder's providers are alerted; the
  emergency contacts are told by SMS; the escalation pass hands unacknowledged alarms to the
  operator desk and the district officer.
- `response.py`: "我去" (one caregiver wins), at the door, closing with an outcome, the order made
  from an alarm, the lists and the monthly figures by district.
- `devices.py`: home terminals and watches, each bound to one elder by a token kept hashed.

Pure rules: `rules/alarms.py`; policy data: `alarm_policy.json`; routes: `api/alarms.py`.
"""
