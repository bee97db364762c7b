# Complaints, inspections and rectification orders arrive with their issues.
