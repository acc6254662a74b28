"""What the sink writes down, durably, around its calls to Dotdigital: enrolments claimed before
they are sent, imports started before they are polled."""
