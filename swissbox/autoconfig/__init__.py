"""Mail client auto-configuration: Thunderbird autoconfig and Outlook autodiscover (POX)."""
